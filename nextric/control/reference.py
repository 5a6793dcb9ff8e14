"""Reference allocations: uniform 1/S shares and a zone-aware hand-tuned split (slice order eMBB, URLLC, FWA).

The hand-tuned split is a rule of thumb an engineer would set by hand: hospital cells favour URLLC, FWA cells
favour FWA, corridor cells eMBB; corridor links favour eMBB/FWA and the uplinks of the hospital's aggregation
nodes favour URLLC. A cell in several zones takes the first of hospital, FWA, corridor. Rows sum to 1.
"""

from __future__ import annotations

import numpy as np

from nextric.arrays import FloatArray
from nextric.topology import Topology

PRB_SPLIT = {"generic": (0.58, 0.2, 0.22), "corridor": (0.64, 0.18, 0.18), "fwa": (0.38, 0.12, 0.50),
             "hospital": (0.28, 0.65, 0.07)}
TN_SPLIT = {"generic": (0.4, 0.3, 0.3), "corridor": (0.45, 0.2, 0.35), "hospital_uplink": (0.4, 0.5, 0.1)}
ZONE_PRECEDENCE = ("hospital", "fwa", "corridor")  #: a cell in several zones takes the first kind listed


def uniform_shares(n_cells: int, n_links: int, n_slices: int) -> tuple[FloatArray, FloatArray]:
    """PRB shares (C, S) and transport shares (L, S), all 1/S."""
    return np.full((n_cells, n_slices), 1.0 / n_slices), np.full((n_links, n_slices), 1.0 / n_slices)


def cell_kinds(topo: Topology) -> list[str]:
    """Per cell: the zone kind that sets its split (``generic`` outside every zone)."""
    kind_of = {z.name: z.kind for z in topo.zones}
    out = []
    for c in topo.cells:
        kinds = {kind_of.get(z) for z in c.zones}
        out.append(next((k for k in ZONE_PRECEDENCE if k in kinds), "generic"))
    return out


def link_kinds(topo: Topology) -> list[str]:
    """Per link: ``hospital_uplink`` (leaves a hospital cell's aggregation node), ``corridor`` or ``generic``."""
    hosp = {c.agg_node for c, k in zip(topo.cells, cell_kinds(topo), strict=True) if k == "hospital"}
    return ["hospital_uplink" if ln.src in hosp else "corridor" if ln.corridor else "generic" for ln in topo.links]


def hand_tuned_shares(topo: Topology) -> tuple[FloatArray, FloatArray]:
    """PRB shares (C, 3) and transport shares (L, 3) of the hand-tuned split."""
    if topo.n_slices != 3:
        raise ValueError("the hand-tuned split is defined for three slices (eMBB, URLLC, FWA)")
    prb = np.array([PRB_SPLIT[k] for k in cell_kinds(topo)], dtype=np.float64)
    tn = np.array([TN_SPLIT[k] for k in link_kinds(topo)], dtype=np.float64)
    return prb, tn
