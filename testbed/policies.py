"""Reference allocations of a scenario (the runtime's :mod:`nextric.control.reference` on its description)."""

from __future__ import annotations

from nextric.control import reference
from testbed.core.params import ScenarioParams
from testbed.core.types import FloatArray
from testbed.describe import topology_of


def uniform_shares(sc: ScenarioParams) -> tuple[FloatArray, FloatArray]:
    """PRB shares (C, S) and transport shares (L, S), all 1/S."""
    return reference.uniform_shares(sc.n_cells, sc.n_links, sc.n_slices)


def hand_tuned_shares(sc: ScenarioParams) -> tuple[FloatArray, FloatArray]:
    """The zone-aware hand-tuned split (:func:`nextric.control.reference.hand_tuned_shares`)."""
    return reference.hand_tuned_shares(topology_of(sc))
