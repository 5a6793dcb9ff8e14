"""Slice scheduler xApp: per-cell, per-slice PRB quotas (TS 28.541 RRMPolicyRatio) every control period."""
