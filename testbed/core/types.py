"""Array type aliases of the testbed core (the runtime's :mod:`nextric.arrays`; shape/dtype/unit go in each
docstring)."""

from __future__ import annotations

from nextric.arrays import BoolArray, ComplexArray, FloatArray, IntArray

__all__ = ["N_RATIO_FIELDS", "BoolArray", "ComplexArray", "FloatArray", "IntArray"]

#: Slice order used everywhere in the core: index 0 eMBB, 1 URLLC, 2 FWA (scenario-defined names).
N_RATIO_FIELDS = 3  #: dedicated, min, max (TS 28.541 RRMPolicyRatio)
