"""INT8 calibration of the exported Cluster-Phys graph.

:mod:`edge_rppg.calibration.dataset` builds (and caches) a calibration set of MSTmap windows that
spans heart rate, illumination and head motion — synthetic strata plus, optionally,
stratified windows from a dataset reader; :mod:`edge_rppg.calibration.quantize` turns the FP32
ONNX export into a TensorRT-compatible Q/DQ graph with ONNX Runtime's ``quantize_static``
(symmetric signed INT8, per-channel weights, the density-peak selection kept FP32,
MinMax/Entropy/Percentile ranges); :mod:`edge_rppg.calibration.report` measures INT8 against FP32
on held-out synthetic clips (HR MAE, Pearson r of the pulse); :mod:`edge_rppg.calibration.cli` is
``edge-rppg calibrate``. The package imports ``edge_rppg`` and ``export``; the core never
imports it at module level.
"""
