"""Reference allocations for the default city: uniform 1/3 and a simple zone-aware hand-tuned split."""

from __future__ import annotations

import numpy as np

from testbed.core.geometry import in_zone
from testbed.core.params import ScenarioParams
from testbed.core.scenario import city_arrays
from testbed.core.types import FloatArray


def uniform_shares(sc: ScenarioParams) -> tuple[FloatArray, FloatArray]:
    """PRB shares (C, S) and transport shares (L, S), all 1/S."""
    s = sc.n_slices
    return np.full((sc.n_cells, s), 1.0 / s), np.full((sc.n_links, s), 1.0 / s)


def hand_tuned_shares(sc: ScenarioParams) -> tuple[FloatArray, FloatArray]:
    """Zone rules (slice order eMBB, URLLC, FWA): hospital cells favour URLLC, FWA cells favour FWA,
    corridor links favour eMBB/FWA, the hospital uplink favours URLLC. Sums are 1."""
    arr = city_arrays(sc)
    prb = np.tile([0.58, 0.2, 0.22], (sc.n_cells, 1))
    for kind, split in (("corridor", [0.64, 0.18, 0.18]), ("fwa", [0.38, 0.12, 0.50]),
                        ("hospital", [0.28, 0.65, 0.07])):
        for z in sc.zones:
            if z.kind == kind:
                prb[in_zone(z, arr.cell_xy)] = split
    tn = np.tile([0.4, 0.3, 0.3], (sc.n_links, 1))
    tn[arr.link_corridor] = [0.45, 0.2, 0.35]
    hosp = {sc.cells[i].agg_node for z in sc.zones if z.kind == "hospital"
            for i in np.flatnonzero(in_zone(z, arr.cell_xy))}
    for i, ln in enumerate(sc.transport.links):
        if ln.src in hosp:
            tn[i] = [0.4, 0.5, 0.1]
    return prb, tn
