"""Typed reports and controls of the emulator facade (:mod:`testbed.core.engine`).

Names follow TS 28.552 (DRB.UEThpDl, RRU.PrbUsedDl, RRU.PrbAvailDl, DRB.RlcSduDelayDl) and TS 28.541
(RRMPolicyRatio: dedicated/min/max percent). An E2 adapter translates these one to one. The KPM report types
are the runtime's (:mod:`nextric.kpm`: the rApp and the twin decode the same values), re-exported here with the
emulator's other reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nextric.kpm import CellKpm, KpmReport, SliceKpm
from testbed.core.pilots import PilotObservation
from testbed.core.types import FloatArray, IntArray


@dataclass(frozen=True)
class CellInfo:
    """Static cell description for E2 node discovery."""

    cell_id: int
    name: str
    pci: int
    nr_cgi: str  #: PLMN + 36-bit NR cell identity, hex
    band: int
    dl_arfcn: int
    bandwidth_mhz: int
    scs_khz: int
    n_prb: int


@dataclass(frozen=True, eq=False)
class BeamReport:
    """What a beam xApp may see: per UE Set-B L1-RSRP (1 dB, -140..-44 dBm) and the serving beam."""

    t_s: float
    ue_ids: IntArray  #: (U,)
    cell_ids: IntArray  #: (U,) serving cell id
    serving_beam: IntArray  #: (U,) Set-A index
    set_b: IntArray  #: (B_B,) Set-A indices measured (``wide``: the Set-A direction each wide beam points at)
    rsrp_dbm: FloatArray  #: (U, B_B) quantised
    set_b_kind: str = "subset"  #: "subset" (Set B within Set A) or "wide" (own wide beams)
    set_b_elements: int = 0  #: array elements each Set-B beam uses


@dataclass(frozen=True, eq=False)
class BeamGenie:
    """Evaluation only (never sent to an xApp): noise-free Set-A L1-RSRP of every UE."""

    t_s: float
    ue_ids: IntArray
    rsrp_dbm: FloatArray  #: (U, B_A) float, unquantised
    best_beam: IntArray  #: (U,)


@dataclass(frozen=True, eq=False)
class PilotReport:
    """DMRS observations of selected UEs plus the estimator mode each cell/UE uses."""

    t_s: float
    ue_ids: IntArray
    cell_ids: IntArray
    mode: tuple[str, ...]  #: per UE
    obs: PilotObservation


@dataclass(frozen=True)
class SlicePolicy:
    """RRMPolicyRatio for one (cell, S-NSSAI), percent."""

    cell_id: int
    sst: int
    sd: str
    dedicated: float
    min: float
    max: float


@dataclass(frozen=True)
class BeamSwitch:
    """Force UE ``ue_id`` onto Set-A beam ``beam`` for ``ttl_steps`` fast sub-steps (or until handover)."""

    ue_id: int
    beam: int
    ttl_steps: int | None = None


@dataclass(frozen=True)
class EstimatorMode:
    """Channel-estimator mode for a cell, or for a UE group within it when ``ue_ids`` is given."""

    cell_id: int
    mode: str  #: "LS" | "LMMSE" | "NEURAL"
    ue_ids: tuple[int, ...] | None = None


@dataclass(frozen=True)
class TransportShare:
    """Per-slice bandwidth shares of one link (in slice order, each in [0, 1], sum <= 1)."""

    link: str
    shares: tuple[float, ...]


@dataclass(frozen=True)
class ControlRequest:
    """A batch of controls applied atomically at the start of the next fast sub-step."""

    request_id: str
    slice_policies: tuple[SlicePolicy, ...] = ()
    beams: tuple[BeamSwitch, ...] = ()
    estimators: tuple[EstimatorMode, ...] = ()
    transport: tuple[TransportShare, ...] = ()


@dataclass(frozen=True)
class ControlAck:
    """Echo of what was applied, and when (simulated time)."""

    request_id: str
    applied_at_s: float
    step_index: int
    applied: ControlRequest
    notes: tuple[str, ...] = field(default=())


__all__ = ["BeamGenie", "BeamReport", "BeamSwitch", "CellInfo", "CellKpm", "ControlAck", "ControlRequest",
           "EstimatorMode", "KpmReport", "PilotReport", "SliceKpm", "SlicePolicy", "TransportShare"]
