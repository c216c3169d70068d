"""Streaming runtime of edge_rppg: the camera-to-vitals pipeline that in-car units and
kiosks run for days. A frame source (GStreamer through PyGObject with an appsink, an
OpenCV ``VideoCapture`` fallback, or a plain iterator) feeds a bounded queue that drops
and counts frames rather than growing; small stages with one job and their own timing
(landmarks → ROI averaging on the CPU or with a CUDA kernel → MSTmap window → engine →
HR/HRV/RF) turn each frame into a :class:`~edge_rppg.api.VitalsResult`; sinks write JSON
lines, CSV or an annotated video. The public :class:`edge_rppg.EdgeRPPG` API is the same
stages composed in-process, and ``edge-rppg run`` is the command-line front end. The
package imports ``edge_rppg``; the core never imports it at module level.
"""
