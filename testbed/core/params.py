"""Frozen parameter dataclasses for a scenario (built from YAML by :mod:`testbed.core.scenario`).

Units are in the field names (``_m``, ``_s``, ``_ms``, ``_mbps``, ``_dbm``, ``_db``, ``_ghz``).
Indices: cells ``c`` in YAML order, slices ``s`` in YAML order, links ``l`` in YAML order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nextric.kpi import CostWeights
from testbed.core.types import FloatArray, IntArray


@dataclass(frozen=True)
class SliceParams:
    """One network slice: S-NSSAI, traffic class and SLA ceilings."""

    name: str
    sst: int
    sd: str  #: 6 hex digits
    packet_bytes: float  #: mean packet size, sets the M/M/1 service rate
    base_delay_ms: float  #: processing + HARQ + air-interface floor
    discard_ms: float  #: PDCP discard timer (TS 38.323): data older than this is dropped
    sla_loss: float  #: loss-rate ceiling in [0, 1]
    sla_p99_ms: float | None  #: 99th-percentile latency ceiling, or None


@dataclass(frozen=True)
class RatioPolicy:
    """TS 28.541 RRMPolicyRatio in percent: dedicated <= min <= max."""

    dedicated: float
    min: float
    max: float


@dataclass(frozen=True)
class CellParams:
    """One NR cell in srsRAN gNB-config terms plus its site geometry."""

    cell_id: int
    name: str
    x_m: float
    y_m: float
    pci: int
    band: int
    dl_arfcn: int
    fc_ghz: float
    bandwidth_mhz: int
    scs_khz: int
    n_prb: int  #: TS 38.101-1 Table 5.3.2-1
    nof_antennas_dl: int
    tx_power_dbm: float
    height_m: float
    azimuth_deg: float  #: boresight of the ULA (0 = +x axis, counter-clockwise)
    agg_node: str
    tdl_profile: str  #: "TDL-A" | "TDL-B" | "TDL-C"
    delay_spread_ns: float
    policies: tuple[RatioPolicy, ...]  #: default RRMPolicyRatio per slice


@dataclass(frozen=True)
class ZoneParams:
    """A named region: circle (centre, radius) or corridor (polyline, half-width)."""

    name: str
    kind: str  #: "hospital" | "fwa" | "corridor" | "generic"
    points: tuple[tuple[float, float], ...]  #: circle: one centre; corridor: >= 2 vertices
    radius_m: float  #: circle radius or corridor half-width


@dataclass(frozen=True)
class UeGroupParams:
    """A population of UEs of one slice placed in a zone (or the whole area)."""

    name: str
    slice_index: int
    zone: str | None  #: None = uniform over the area
    count: int
    mobility: str  #: "pedestrian" | "vehicle" | "static"
    speed_mps: float
    rate_mbps: float  #: mean offered downlink rate per UE
    burstiness: float  #: log-normal sigma of the per-step rate fluctuation
    height_m: float


@dataclass(frozen=True)
class LinkParams:
    """One directed transport link."""

    name: str
    src: str
    dst: str
    capacity_mbps: float
    delay_ms: float
    corridor: bool


@dataclass(frozen=True)
class TransportParams:
    """Hub-and-spoke transport graph, how slices share a link, and its failure process.

    ``sharing``: ``work_conserving`` (a slice's share is a guarantee; capacity a slice leaves unused goes to the
    slices with more to send, strict priority between priority levels, in proportion to their excess within a
    level) or ``partitioned`` (a slice never exceeds its share: hard partitions). ``priority`` per slice, 1 =
    highest."""

    nodes: tuple[str, ...]
    node_xy: tuple[tuple[float, float], ...]
    hub: str
    links: tuple[LinkParams, ...]
    fail_prob_per_s: float  #: base per-link failure hazard
    mttr_s: float  #: mean time to repair
    packet_bytes: float
    sharing: str = "partitioned"
    priority: tuple[int, ...] = ()  #: per slice (scenario order); empty = every slice the same level


@dataclass(frozen=True)
class HotspotParams:
    """Random spatial surges near a zone (hospital)."""

    zone: str
    rate_per_slow_step: float  #: Poisson rate of new hotspots
    position_sigma_m: float
    radius_m: float
    intensity: tuple[float, ...]  #: demand multiplier per slice at the hotspot centre
    duration_s: float  #: mean duration (exponential)
    link_fail_mult: float  #: failure-hazard multiplier on links serving affected cells


@dataclass(frozen=True)
class WaveParams:
    """Events travelling along a corridor, stressing its transport links."""

    zone: str
    rate_per_slow_step: float
    speed_mps: float
    width_m: float
    intensity: tuple[float, ...]
    duration_s: float
    link_fail_mult: float  #: failure-hazard multiplier on corridor links while a wave is active


@dataclass(frozen=True)
class OodParams:
    """Out-of-distribution amplification of the shock processes."""

    intensity_mult: float
    duration_mult: float
    fail_mult: float
    rate_mult: float


@dataclass(frozen=True)
class RadioParams:
    """Radio/PHY modelling constants."""

    pathloss_model: str  #: "UMi" | "UMa"
    noise_figure_db: float
    element_gain_dbi: float
    n_candidate_cells: int  #: K strongest-candidate cells evaluated per UE
    handover_hysteresis_db: float
    n_antennas: int  #: ULA elements of the beam codebook
    n_beams_set_a: int
    set_b: tuple[int, ...]  #: indices into Set A
    n_clusters: int
    los_k_factor_db: float
    cluster_spread_deg: float
    rsrp_noise_db: float
    overhead: float  #: TS 38.306 overhead fraction
    mimo_layers: int
    sinr_est_noise_db: float  #: CQI reporting error (dB std) seen by link adaptation
    beam_override_ttl_steps: int
    #: "subset": Set B = the Set-A beams ``set_b``; "wide": Set B = wide beams of a ``set_b_elements``-element
    #: sub-array pointed at the Set-A directions ``set_b`` (3GPP TR 38.843 BM-Case1, Set B different from Set A)
    set_b_kind: str = "subset"
    set_b_elements: int = 0  #: active ULA elements per Set-B beam (0: the full array, ``n_antennas``)

    @property
    def set_b_aperture(self) -> int:
        """Elements each Set-B beam uses: ``n_antennas`` for a subset, the sub-array for wide beams."""
        return self.set_b_elements or self.n_antennas


@dataclass(frozen=True)
class TimingParams:
    """Two timescales: a slow step (one RIC decision) = ``fast_per_slow`` fast sub-steps."""

    fast_step_s: float
    fast_per_slow: int
    slow_per_horizon: int

    @property
    def slow_step_s(self) -> float:
        return self.fast_step_s * self.fast_per_slow


@dataclass(frozen=True)
class ScenarioParams:
    """Everything that defines a city; immutable. Arrays are derived in :class:`CityArrays`."""

    name: str
    description: str
    width_m: float
    height_m: float
    timing: TimingParams
    slices: tuple[SliceParams, ...]
    cells: tuple[CellParams, ...]
    zones: tuple[ZoneParams, ...]
    ue_groups: tuple[UeGroupParams, ...]
    transport: TransportParams
    radio: RadioParams
    hotspot: HotspotParams | None
    wave: WaveParams | None
    ood: OodParams
    cost: CostWeights
    source: str = ""  #: file it was loaded from
    #: how a plan's PRB shares become RRMPolicyRatio: ``isolated`` (min = max = share: a slice never exceeds its
    #: share, unallocated PRBs idle) or ``guaranteed`` (min = share, max = 100: a guarantee, idle PRBs shared)
    plan_shares: str = "isolated"

    @property
    def n_cells(self) -> int:
        return len(self.cells)

    @property
    def n_slices(self) -> int:
        return len(self.slices)

    @property
    def n_links(self) -> int:
        return len(self.transport.links)


@dataclass(frozen=True, eq=False)
class CityArrays:
    """Vectorised views of a :class:`ScenarioParams` (read-only by convention)."""

    cell_xy: FloatArray = field(repr=False)  #: (C, 2) float64, m
    n_prb: FloatArray = field(repr=False)  #: (C,) float64, PRBs
    bits_per_re_scale: FloatArray = field(repr=False)  #: (C,) RE/s per PRB x layers x (1-OH)
    cell_agg: IntArray = field(repr=False)  #: (C,) int64 index into transport nodes
    link_src: IntArray = field(repr=False)  #: (L,) int64 node index
    link_dst: IntArray = field(repr=False)  #: (L,) int64 node index
    link_cap_mbps: FloatArray = field(repr=False)  #: (L,) float64
    link_delay_ms: FloatArray = field(repr=False)  #: (L,) float64
    link_corridor: np.ndarray = field(repr=False)  #: (L,) bool
    default_ratio: FloatArray = field(repr=False)  #: (C, S, 3) float64 percent (ded, min, max)
    slice_packet_bits: FloatArray = field(repr=False)  #: (S,) float64 bit
    slice_base_delay_s: FloatArray = field(repr=False)  #: (S,) float64 s
    slice_discard_s: FloatArray = field(repr=False)  #: (S,) float64 s
    tn_priority: IntArray = field(repr=False)  #: (S,) int64 transport priority level per slice (1 = highest)
    tn_work_conserving: bool = False  #: transport shares are guarantees (else hard partitions)
