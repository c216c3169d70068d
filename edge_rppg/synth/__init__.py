"""Synthetic data with exact ground truth.

:mod:`.mstmap_gen` generates MSTmaps (``[T, 63, 6]`` colour means of all meta-ROI
subsets) directly from a physiological and optical model — pulse with realistic
morphology and heart-rate variability, respiration, per-region pulse amplitude and
transit delay, blood-absorption colour signature, head motion and specular
reflection, illumination drift and flicker, sensor noise — for tests, benchmarks
and training the Cluster-Phys model without a dataset. :mod:`.video_gen` renders
synthetic face videos for end-to-end tests of the video path, and :mod:`.rendered` runs
them through the product's front end once (cached) for the realistic benchmark and the
``rendered`` training source.
"""
