"""Evaluation against ground truth: engines over folders of clips or dataset readers
(``evaluate``), the metrics (``metrics``: MAE, RMSE, Pearson) and plots (``plots``)."""
