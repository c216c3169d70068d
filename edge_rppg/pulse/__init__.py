"""The pulse: engines that turn an MSTmap window into a pulse (``engines``: ONNX Runtime,
TensorRT, torch, classic), the classic methods (``methods``: POS, CHROM, ...), the Cluster-
Phys model (``models``), an engine over a whole clip (``windows``) and the ``engine`` stage
(``stage``) that makes a :class:`~edge_rppg.pulse.stage.PulseWindow`."""
