"""Faces: the :class:`~edge_rppg.face.types.Face` and ``Landmarker`` protocol (``types``), the
landmarkers by name (``registry``: the bundled ONNX face models of ``nets`` run by
``onnx_landmarker``, mediapipe's FaceMesh in ``mediapipe_landmarker``), their options
(``options``) and shared landmark schedule (``schedule``, with Lucas–Kanade ``tracking``
between mesh runs), face choice (``select``), One-Euro ``smoothing``, and the ``landmarks``
stage (``stage``) that turns a frame into a :class:`~edge_rppg.face.stage.FaceObservation`."""
