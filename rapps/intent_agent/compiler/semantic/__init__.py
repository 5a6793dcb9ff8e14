"""The semantic layer of the intent compiler: a local sentence-embedding model (all-MiniLM-L6-v2, int8 ONNX, run
with onnxruntime; no network) matching phrases the grammar does not know to slice and KPI concepts with a
calibrated confidence. ``semantic.json`` holds the calibration, ``semantic.card.json`` its model card."""
