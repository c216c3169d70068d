"""Streaming runtime of edge_rppg: the camera-to-vitals pipeline that in-car units and
kiosks run for days. A frame source (GStreamer through PyGObject with an appsink, an
OpenCV ``VideoCapture`` fallback, or a plain iterator) feeds a bounded queue that drops
and counts frames rather than growing; the core's stage chain (:class:`edge_rppg.processor.stream.StreamProcessor`:
input → clock → landmarks → ROI averaging → MSTmap window → engine → HR/HRV/RF, each stage
with one job and its own timing) turns each frame into a :class:`~edge_rppg.api.VitalsResult`; sinks
write JSON lines, CSV or an annotated video, or serve a live page to browsers
(:mod:`edge_rppg.runtime.web_sink`). :mod:`edge_rppg.runtime.cuda_roi` adds the CUDA
ROI-averaging kernel as ``"cupy"``/``"pycuda"`` backends of the core's ROI-backend
registry (:mod:`edge_rppg.runtime.pipeline` imports it, so the runtime uses the GPU when one
works). The public :class:`edge_rppg.EdgeRPPG` API runs the same stages in-process, and
``edge-rppg run`` is the command-line front end. The package imports ``edge_rppg``; the
core never imports it.
"""
