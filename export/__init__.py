"""Export of the Cluster-Phys model for edge runtimes.

:mod:`edge_rppg.export.export_friendly` swaps the data-dependent density-peak (DPC-KNN) prototype
selection for a static-shape, sort-free, deterministic formulation that ONNX Runtime and
TensorRT run unchanged; :mod:`edge_rppg.export.onnx_export` writes a self-contained ONNX file with
static T and K (opset ≥ 17, checked, simplified with onnxslim, config + weight hash in
its metadata) and an FP16 variant for GPU execution providers; :mod:`edge_rppg.export.equivalence`
proves that the swap and the exported file reproduce the PyTorch model; :mod:`edge_rppg.export.cli`
is ``edge-rppg export``. The package imports ``edge_rppg``; the core never imports it
at module level.
"""
