"""Beam predictor xApp (3GPP BM-Case1): Set-B L1-RSRP -> best Set-A beam (ONNX), classical fallback."""
