"""Frame sources (an index: each kind lives in its own module): GStreamer (``gst_source``,
PyGObject + appsink), OpenCV ``VideoCapture`` (``cv_source``), iterators and wrappers
(``source_base``), test/synthetic (``synthetic_sources``), URIs (``uri``).

Every source yields ``(frame_rgb, timestamp_s)`` pairs from :meth:`Source.frames` and,
when that iterator ends, says why in ``end_reason`` (``"eos"``, ``"stopped"``,
``"stalled: ..."``, ``"error: ..."``) with ``failed`` True for the ones a reconnect may
fix. Nothing raises mid-stream: an unplugged camera, a decode error or a stalled RTSP
feed end the iteration cleanly with a reason.

Source URIs (:func:`open_source`):

=============================  ==========================================================
``v4l2:///dev/video0``         USB camera: ``v4l2src device=... ! decodebin`` (OpenCV: V4L2)
``csi://0``                    Jetson CSI camera: ``nvarguscamerasrc sensor-id=0 ! nvvidconv``
``rtsp://host/path``           ``rtspsrc location=... ! decodebin`` (OpenCV: FFmpeg)
``gst:<launch string>``        any GStreamer pipeline producing raw video (appsink appended)
``test:`` / ``test:?...``      ``videotestsrc`` (numpy pattern without GStreamer); no face
``synth:`` / ``synth:?...``    synthetic face video with a known pulse, looped (soak tests)
a file path / ``file://...``   ``filesrc ! decodebin``; OpenCV when GStreamer cannot decode it
``0`` (a number)               camera index (OpenCV)
=============================  ==========================================================

Query parameters (``?width=640&height=480&fps=30&frames=300`` ...) set caps, frame
counts and synthetic-video options. GStreamer is used when ``gi`` with Gst 1.0 imports
(``backend="auto"``), else OpenCV. Every GStreamer pipeline ends in
``videoconvert ! video/x-raw,format=RGB ! appsink``, so frames arrive as RGB.
:class:`ReconnectingSource` (``--reconnect``) reopens a failed source with exponential
backoff; :class:`PacedSource` (``--realtime``) delivers a file's frames at their own pace.
"""
from __future__ import annotations

from .cv_source import CvSource
from .gst_source import APPSINK_NAME, GstSource, gst_available, gst_has_element
from .source_base import FallbackSource, FrameTs, IterSource, PacedSource, ReconnectingSource, Source
from .synthetic_sources import PatternSource, SynthSource
from .uri import SOURCES, open_source

__all__ = ["FrameTs", "APPSINK_NAME", "Source", "IterSource", "GstSource", "CvSource", "PatternSource", "SynthSource",
           "FallbackSource", "ReconnectingSource", "PacedSource", "SOURCES", "open_source", "gst_available", "gst_has_element"]
