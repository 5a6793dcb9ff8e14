"""Array type aliases shared by the testbed core (shape/dtype/unit go in each docstring)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ComplexArray = npt.NDArray[np.complex128]

#: Slice order used everywhere in the core: index 0 eMBB, 1 URLLC, 2 FWA (scenario-defined names).
N_RATIO_FIELDS = 3  #: dedicated, min, max (TS 28.541 RRMPolicyRatio)
