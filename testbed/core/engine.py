"""The emulator facade: one object, explicit simulated time, typed reports and controls.

Adapter contract (E2 node server, transport controller, Gym env, benchmarks)::

    emu = Emulator(load_scenario("twm_poc"), ShockRegime.parse("hotspot-ID"), seed=7)
    emu.submit(ControlRequest(...))   # validated now (ValidationError), applied at the next sub-step
    acks = emu.step_fast()            # one fast sub-step (scenario fast_step_s); returns ControlAcks
    acks = emu.step_slow()            # fast_per_slow sub-steps (one RIC decision period)
    emu.read_kpm()                    # KpmReport since the previous read (per cell, per S-NSSAI)
    emu.beam_report(); emu.beam_genie(); emu.pilot_report(ue_ids)

All randomness comes from child streams of ``numpy.random.SeedSequence(seed)``: same seed and the
same controls -> identical trajectories. PHY details (pilots, Set-A sweeps) are only computed when a
report asks for them; the KPM hot path is vectorised over UEs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from nextric.errors import ValidationError
from nextric.kpi import KpiSummary, mixture_quantile, summarise
from testbed.core.beams import measure_rsrp
from testbed.core.estimators import (
    MODES,
    EstimatorBank,
    NmseTable,
    build_nmse_table,
    lookup_nmse,
)
from testbed.core.flow import FlowState, PathIndex, StepOut, flow_step, initial_flow
from testbed.core.params import ScenarioParams
from testbed.core.pilots import PilotConfig, generate_pilots, tdl_channel, tdl_profile
from testbed.core.radio import (
    aggregate,
    cell_radio,
    channel_paths,
    init_ues,
    link_budget,
    move_ues,
    radio_step,
    rsrp_set,
)
from testbed.core.records import evolve
from testbed.core.reports import (
    BeamGenie,
    BeamReport,
    CellInfo,
    CellKpm,
    ControlAck,
    ControlRequest,
    KpmReport,
    PilotReport,
    SliceKpm,
)
from testbed.core.scenario import city_arrays, router_of
from testbed.core.scheduler import validate_ratios
from testbed.core.shocks import (
    ShockRegime,
    initial_shocks,
    point_multiplier,
    shock_model,
    shock_step,
)
from testbed.core.types import BoolArray, FloatArray, IntArray

PLMN = "00101"
PATH_INDEX_CACHE = 256  #: failure patterns whose sparse path index the emulator keeps


CELL_FIELDS = ("offered", "served", "drop_ran", "delivered", "drop_tn", "alloc_prb", "delay_a_s", "delay_beta",
               "ran_delay_s")  #: (C, S) fields of :class:`StepOut` packed in :attr:`StepRecord.cell`
LINK_FIELDS = ("link_load", "link_carried", "link_cap")  #: (L, S) fields packed in :attr:`StepRecord.link`


@dataclass(frozen=True, eq=False)
class StepRecord:
    """Compact per-sub-step arrays kept for KPM/KPI windows (batch axis dropped)."""

    out: StepOut
    ratio_pct: FloatArray  #: (C, S, 3)
    cell: FloatArray  #: (len(CELL_FIELDS), C, S) the same values as ``out``, packed (one stack per window)
    link: FloatArray  #: (len(LINK_FIELDS), L, S)

    @staticmethod
    def of(out: StepOut, ratio_pct: FloatArray) -> StepRecord:
        """Record of batch row 0 of ``out``."""
        return StepRecord(out, ratio_pct, np.concatenate([getattr(out, n) for n in CELL_FIELDS]),
                          np.concatenate([getattr(out, n) for n in LINK_FIELDS]))


class Emulator:
    """Stateful shell around the pure core (see module docstring for the adapter contract)."""

    def __init__(self, scenario: ScenarioParams, regime: ShockRegime | None = None, seed: int = 0,
                 estimators: EstimatorBank | None = None, nmse_obs: int = 8,
                 nmse_table: NmseTable | None = None, kpi_history_steps: int = 3600,
                 estimator_mode: str = "LMMSE") -> None:
        self.sc = scenario
        self.regime = regime or ShockRegime("hotspot", False)
        self.seed = seed
        self.arr = city_arrays(scenario)
        self.cr = cell_radio(scenario, self.arr)
        ss = np.random.SeedSequence(seed)
        r_ue, r_radio, r_shock, self._rng_pilot, r_nmse = (np.random.default_rng(s) for s in ss.spawn(5))
        self._rng_radio, self._rng_shock = r_radio, r_shock
        # beam refinement measurements (measure_beams) draw from their own stream: requesting them does not change
        # the network's future
        self._rng_measure = np.random.default_rng(np.random.SeedSequence([seed, 0xBEA4]))
        self.bank = estimators or EstimatorBank.default()
        profs = sorted({(c.tdl_profile, c.delay_spread_ns, c.scs_khz) for c in scenario.cells})
        self.nmse_table = nmse_table or build_nmse_table(
            profs, np.array([profs.index((c.tdl_profile, c.delay_spread_ns, c.scs_khz)) for c in scenario.cells]),
            self.bank, r_nmse, n_obs=nmse_obs)
        self.ues = init_ues(scenario, self.cr, r_ue)
        lb = link_budget(scenario, self.cr, self.ues)
        self.ues = replace(self.ues, serving=lb.serving)
        self.ue_ids = np.arange(len(self.ues.xy), dtype=np.int64)
        self.shock_m = shock_model(scenario, self.arr, self.regime)
        self.shocks = initial_shocks(self.shock_m, 1, scenario.n_slices, scenario.n_links)
        self.flow: FlowState = initial_flow(1, scenario.n_cells, scenario.n_slices)
        self.router = router_of(scenario, self.arr)
        self._path_index: dict[bytes, tuple[PathIndex, BoolArray]] = {}  #: per link-state pattern
        n_c, n_s, n_l = scenario.n_cells, scenario.n_slices, scenario.n_links
        self.ratio_pct: FloatArray = self.arr.default_ratio.copy()
        self.tn_share: FloatArray = np.full((n_l, n_s), 1.0 / n_s)
        if estimator_mode not in MODES:
            raise ValidationError(f"estimator mode {estimator_mode!r} not in {list(MODES)}")
        self.cell_mode: IntArray = np.full(n_c, MODES.index(estimator_mode), dtype=np.int64)  #: every cell at start
        self.ue_mode: IntArray = np.full(len(self.ue_ids), -1, dtype=np.int64)
        self.step_index = 0
        self._pending: list[ControlRequest] = []
        self._kpm_buf: list[StepRecord] = []
        self._kpi_hist: deque[StepRecord] = deque(maxlen=kpi_history_steps)  # survives read_kpm()
        self._kpm_t0 = 0.0
        self._last_radio: tuple[FloatArray, FloatArray, FloatArray] | None = None  # snr, doppler, sinr_eff
        self._cell_index = {c.cell_id: i for i, c in enumerate(scenario.cells)}
        self._link_index = {ln.name: i for i, ln in enumerate(scenario.transport.links)}
        self._slice_index = {(s.sst, s.sd): i for i, s in enumerate(scenario.slices)}

    # ------------------------------------------------------------------ time and info
    @property
    def t_s(self) -> float:
        """Simulated time (s) at the end of the last sub-step."""
        return self.step_index * self.sc.timing.fast_step_s

    def cell_info(self) -> tuple[CellInfo, ...]:
        """Static description of every cell (NR CGI = PLMN + gNB id 1 + cell id, hex)."""
        return tuple(CellInfo(c.cell_id, c.name, c.pci, f"{PLMN}{(1 << 14 | c.cell_id):09x}", c.band, c.dl_arfcn,
                              c.bandwidth_mhz, c.scs_khz, c.n_prb) for c in self.sc.cells)

    @property
    def link_up(self) -> np.ndarray:
        """(L,) bool current link states (transport alarms are observable)."""
        return np.asarray(self.shocks.link_up[0].copy(), dtype=None)

    # ------------------------------------------------------------------ controls
    def validate(self, req: ControlRequest) -> None:
        """Raise :class:`ValidationError` if any part of ``req`` is invalid (nothing is applied)."""
        ratio = self.ratio_pct.copy()
        for p in req.slice_policies:
            c = self._cell(p.cell_id)
            s = self._slice(p.sst, p.sd)
            ratio[c, s] = (p.dedicated, p.min, p.max)
        validate_ratios(ratio, f"control {req.request_id}: RRMPolicyRatio")
        for b in req.beams:
            if not 0 <= b.ue_id < len(self.ue_ids):
                raise ValidationError(f"control {req.request_id}: unknown UE id {b.ue_id}")
            if not 0 <= b.beam < self.sc.radio.n_beams_set_a:
                raise ValidationError(f"control {req.request_id}: beam {b.beam} outside Set A "
                                      f"0..{self.sc.radio.n_beams_set_a - 1}")
            if b.ttl_steps is not None and b.ttl_steps < 1:
                raise ValidationError(f"control {req.request_id}: ttl_steps must be >= 1")
        for e in req.estimators:
            self._cell(e.cell_id)
            if e.mode not in MODES:
                raise ValidationError(f"control {req.request_id}: estimator mode {e.mode!r} not in {list(MODES)}")
            for u in e.ue_ids or ():
                if not 0 <= u < len(self.ue_ids):
                    raise ValidationError(f"control {req.request_id}: unknown UE id {u}")
        tn = self.tn_share.copy()
        for t in req.transport:
            if t.link not in self._link_index:
                raise ValidationError(f"control {req.request_id}: unknown link {t.link!r}; "
                                      f"links: {list(self._link_index)}")
            if len(t.shares) != self.sc.n_slices:
                raise ValidationError(f"control {req.request_id}: link {t.link} needs {self.sc.n_slices} shares")
            tn[self._link_index[t.link]] = t.shares
        validate_shares(tn, f"control {req.request_id}: transport shares")

    def submit(self, req: ControlRequest) -> None:
        """Validate now; apply at the start of the next fast sub-step (acknowledged by :meth:`step_fast`)."""
        self.validate(req)
        self._pending.append(req)

    def _apply(self, req: ControlRequest) -> ControlAck:
        notes: list[str] = []
        for p in req.slice_policies:
            self.ratio_pct[self._cell(p.cell_id), self._slice(p.sst, p.sd)] = (p.dedicated, p.min, p.max)
        if req.beams:
            beam, ttl = self.ues.beam.copy(), self.ues.beam_ttl.copy()
            for b in req.beams:
                beam[b.ue_id] = b.beam
                ttl[b.ue_id] = b.ttl_steps or self.sc.radio.beam_override_ttl_steps
            self.ues = replace(self.ues, beam=beam, beam_ttl=ttl)
        for e in req.estimators:
            m = MODES.index(e.mode)
            if e.ue_ids is None:
                self.cell_mode[self._cell(e.cell_id)] = m
            else:
                self.ue_mode[list(e.ue_ids)] = m
            if e.mode == "NEURAL" and self.bank.neural is None:
                notes.append(f"cell {e.cell_id}: no neural estimator loaded, LMMSE (estimated covariance) used")
        for t in req.transport:
            self.tn_share[self._link_index[t.link]] = t.shares
        return ControlAck(req.request_id, self.t_s, self.step_index, req, tuple(notes))

    def reseed(self, seed: int) -> None:
        """Another exogenous future from the state reached: new random streams for UE motion and radio, shocks,
        link failures and pilots (a copy of an emulator, reseeded, is the same network with a different future;
        benchmarks use it to measure how much one future tells about a plan)."""
        ss = np.random.SeedSequence([self.seed, seed, 0x5EED])
        self._rng_radio, self._rng_shock, self._rng_pilot = (np.random.default_rng(s) for s in ss.spawn(3))

    def set_allocation(self, prb_ratio_pct: FloatArray, tn_share: FloatArray) -> None:
        """Bulk control for in-process drivers (Gym env, benches): (C, S, 3) percent and (L, S) shares,
        validated, applied immediately (before the next sub-step)."""
        validate_ratios(prb_ratio_pct)
        validate_shares(tn_share)
        self.ratio_pct = np.asarray(prb_ratio_pct, dtype=np.float64).copy()
        self.tn_share = np.asarray(tn_share, dtype=np.float64).copy()

    # ------------------------------------------------------------------ stepping
    def _nmse(self, serving: IntArray, snr_db: FloatArray, doppler_hz: FloatArray) -> FloatArray:
        mode = np.where(self.ue_mode >= 0, self.ue_mode, self.cell_mode[serving])
        return lookup_nmse(self.nmse_table, mode, serving, snr_db, doppler_hz)

    def step_fast(self) -> tuple[ControlAck, ...]:
        """Apply pending controls, then advance one fast sub-step."""
        acks = tuple(self._apply(r) for r in self._pending)
        self._pending.clear()
        sc, dt = self.sc, self.sc.timing.fast_step_s
        self.shocks = shock_step(self.shock_m, self.shocks, self._rng_shock)
        self.ues = move_ues(sc, self.cr, self.ues, dt, self._rng_radio)
        mult = point_multiplier(self.shock_m, self.shocks, self.ues.xy, self.ues.slice_idx)[0]  # (U,)
        self.ues, _lb, ro = radio_step(sc, self.cr, self.ues, self.flow.prb_util[0], self._nmse, mult,
                                       self._rng_radio)
        self._last_radio = (ro.snr_db, ro.doppler_hz, ro.sinr_eff_db)
        self._last_rsrp_b = ro.rsrp_b_dbm
        arrivals, outage, mpp = aggregate(self.ues.serving, self.ues.slice_idx, ro.demand_mbps, ro.bits_per_re,
                                          self.cr.re_scale, sc.n_cells, sc.n_slices, dt)
        paths, reach = self._paths(self.shocks.link_up)
        self.flow, out = flow_step(self.flow, self.arr, dt, arrivals[None], mpp[None], self.ratio_pct[None],
                                   self.tn_share[None], self.shocks.link_up, paths, reach,
                                   8.0 * sc.transport.packet_bytes)
        # UEs in radio outage: offered and lost at the RAN (keeps the KPIs honest)
        out = evolve(out, offered=out.offered + outage[None], drop_ran=out.drop_ran + outage[None])
        self.step_index += 1
        record = StepRecord.of(out, self.ratio_pct.copy())
        self._kpm_buf.append(record)
        self._kpi_hist.append(record)
        return acks

    def _paths(self, link_up: BoolArray) -> tuple[PathIndex, BoolArray]:
        """Sparse path index and reachability (1, C) of the link states (1, L), cached per pattern."""
        key = link_up.tobytes()
        hit = self._path_index.pop(key, None)
        if hit is None:
            paths, reach = self.router.paths(link_up)
            hit = (PathIndex.of(paths[0], self.arr.link_delay_ms, self.sc.n_slices), reach)
            if len(self._path_index) >= PATH_INDEX_CACHE:  # least recently used out
                del self._path_index[next(iter(self._path_index))]
        self._path_index[key] = hit  # most recently used last
        return hit

    def step_slow(self) -> tuple[ControlAck, ...]:
        """``fast_per_slow`` sub-steps; returns all acks."""
        acks: list[ControlAck] = []
        for _ in range(self.sc.timing.fast_per_slow):
            acks.extend(self.step_fast())
        return tuple(acks)

    # ------------------------------------------------------------------ reports
    def _stack(self, records: Sequence[StepRecord] | None = None) -> dict[str, FloatArray]:
        """Window arrays by :class:`StepOut` field name: (T, C, S) cell fields, (T, L, S) link fields."""
        b = self._kpm_buf if records is None else records
        cell = np.stack([r.cell for r in b])
        link = np.stack([r.link for r in b])
        out = {n: cell[:, i] for i, n in enumerate(CELL_FIELDS)}
        out.update({n: link[:, i] for i, n in enumerate(LINK_FIELDS)})
        return out

    def kpis_since(self, step: int) -> KpiSummary:
        """KPIs over the sub-steps ``step .. step_index - 1`` (batch of 1), independent of :meth:`read_kpm`.

        The emulator keeps the last ``kpi_history_steps`` sub-steps; asking for older ones is an error.
        """
        n = self.step_index - step
        if n < 1:
            raise ValidationError(f"no sub-steps since step {step} (now at {self.step_index})")
        if n > len(self._kpi_hist):
            raise ValidationError(f"only the last {len(self._kpi_hist)} sub-steps are kept, asked for {n}")
        return self._summarise(list(self._kpi_hist)[-n:])

    def kpis_between(self, start_step: int, end_step: int) -> KpiSummary:
        """KPIs over the sub-steps ``start_step .. end_step - 1`` (batch of 1); only the last ``kpi_history_steps``
        sub-steps are kept."""
        if not 0 <= start_step < end_step <= self.step_index:
            raise ValidationError(f"window [{start_step}, {end_step}) must lie within [0, {self.step_index})")
        back = self.step_index - start_step
        if back > len(self._kpi_hist):
            raise ValidationError(f"only the last {len(self._kpi_hist)} sub-steps are kept, asked for {back}")
        hist = list(self._kpi_hist)
        return self._summarise(hist[len(hist) - back:len(hist) - (self.step_index - end_step)])

    def cell_throughput(self, start_step: int, end_step: int | None = None) -> tuple[FloatArray, FloatArray]:
        """Evaluation: per-cell served (over the air) and offered downlink rates, each (C,) float64 Mbit/s, over
        the sub-steps that ended at step indices ``start_step + 1 .. end_step`` (default: now). Like
        :meth:`kpis_since`, only the last ``kpi_history_steps`` sub-steps are kept."""
        end = self.step_index if end_step is None else end_step
        if not 0 <= start_step < end <= self.step_index:
            raise ValidationError(f"window ({start_step}, {end}] must lie within (0, {self.step_index}]")
        back = self.step_index - start_step
        if back > len(self._kpi_hist):
            raise ValidationError(f"only the last {len(self._kpi_hist)} sub-steps are kept, asked for {back}")
        hist = list(self._kpi_hist)
        recs = hist[len(hist) - back:len(hist) - (self.step_index - end)]
        a = self._stack(recs)
        dur = len(recs) * self.sc.timing.fast_step_s
        return (np.asarray(a["served"].sum((0, 2)) / dur, dtype=np.float64),
                np.asarray(a["offered"].sum((0, 2)) / dur, dtype=np.float64))

    def link_loads(self, n_steps: int = 1) -> tuple[FloatArray, FloatArray]:
        """Per-link, per-slice transport telemetry over the last ``n_steps`` sub-steps (what an SDN controller
        reads from its queue counters): offered and carried, each (L, S) float64 Mbit/s."""
        recs = list(self._kpi_hist)[-max(1, n_steps):]
        if not recs:
            raise ValidationError("step the emulator before reading link loads")
        dur = len(recs) * self.sc.timing.fast_step_s
        a = self._stack(recs)
        offered = a["link_load"].sum(0) / dur
        carried = a["link_carried"].sum(0) / dur
        return offered, carried

    def link_load_ratios(self, n_steps: int) -> FloatArray:
        """(T, L) offered load over capacity of every link in each of the last ``n_steps`` sub-steps (a down link's
        ratio counts its nominal capacity)."""
        recs = list(self._kpi_hist)[-max(1, n_steps):]
        if not recs:
            raise ValidationError("step the emulator before reading link loads")
        a = self._stack(recs)
        cap = self.arr.link_cap_mbps * self.sc.timing.fast_step_s
        return np.asarray(a["link_load"].sum(-1) / cap[None], dtype=np.float64)

    def link_utilisation(self) -> FloatArray:
        """(L,) carried / capacity per link over the sub-steps since the last :meth:`read_kpm`."""
        if not self._kpm_buf:
            raise ValidationError("no sub-steps since the last read")
        a = self._stack()
        cap = a["link_cap"].sum((0, 2))
        return np.asarray(np.where(cap > 0, a["link_carried"].sum((0, 2)) / np.maximum(cap, 1e-12), 0.0))

    def _summarise(self, records: Sequence[StepRecord]) -> KpiSummary:
        a = self._stack(records)
        dur = len(records) * self.sc.timing.fast_step_s
        return summarise(a["offered"][None], (a["drop_ran"] + a["drop_tn"])[None], a["delivered"][None],
                         a["delay_a_s"][None], a["delay_beta"][None], a["alloc_prb"][None], self.arr.n_prb,
                         a["link_carried"][None], a["link_cap"][None], dur, self.sc.slices)

    def window_kpis(self) -> KpiSummary:
        """KPIs (:mod:`nextric.kpi`) over the sub-steps since the last :meth:`read_kpm` (batch of 1)."""
        if not self._kpm_buf:
            raise ValidationError("no sub-steps since the last read")
        return self._summarise(self._kpm_buf)

    def read_kpm(self, reset: bool = True) -> KpmReport:
        """Per-cell, per-slice KPM over the sub-steps since the previous read (TS 28.552 names)."""
        if not self._kpm_buf:
            raise ValidationError("no sub-steps since the last KPM read")
        a = self._stack()
        t = len(self._kpm_buf)
        dur = t * self.sc.timing.fast_step_s
        off = a["offered"].sum(0)
        loss = np.where(off > 1e-12, (a["drop_ran"] + a["drop_tn"]).sum(0) / np.maximum(off, 1e-12), 0.0)
        w = a["served"] + 1e-12
        rlc = (a["ran_delay_s"] * w).sum(0) / w.sum(0) * 1e3
        aa = np.moveaxis(a["delay_a_s"], 0, -1)
        be = np.moveaxis(a["delay_beta"], 0, -1)
        p99 = mixture_quantile(aa, be, np.moveaxis(a["offered"], 0, -1) + 1e-12) * 1e3
        used = a["alloc_prb"].mean(0)
        thp = a["served"].sum(0) / dur
        # python floats once per array (faster than per-element float() of numpy scalars; same values)
        ratio_l = self._kpm_buf[-1].ratio_pct.tolist()
        thp_l, used_l, rlc_l, loss_l, p99_l = thp.tolist(), used.tolist(), rlc.tolist(), loss.tolist(), p99.tolist()
        off_l, used_tot = (off / dur).tolist(), used.sum(1).tolist()
        cells = []
        for ci, c in enumerate(self.sc.cells):
            sl = tuple(SliceKpm(s.sst, s.sd, s.name, thp_l[ci][si], used_l[ci][si], rlc_l[ci][si], loss_l[ci][si],
                                p99_l[ci][si], off_l[ci][si], tuple(ratio_l[ci][si]))
                       for si, s in enumerate(self.sc.slices))
            cells.append(CellKpm(c.cell_id, float(c.n_prb), used_tot[ci], sl))
        rep = KpmReport(self._kpm_t0, self.t_s, t, tuple(cells))
        if reset:
            self._kpm_buf = []
            self._kpm_t0 = self.t_s
        return rep

    def beam_report(self) -> BeamReport:
        """Set-B L1-RSRP (measured at the last sub-step) and serving beams of every UE, with the Set-B kind."""
        self._need_step()
        cid = np.array([c.cell_id for c in self.sc.cells], dtype=np.int64)
        return BeamReport(self.t_s, self.ue_ids.copy(), cid[self.ues.serving], self.ues.beam.copy(),
                          self.cr.set_b.copy(), self._last_rsrp_b.copy(), self.sc.radio.set_b_kind,
                          self.sc.radio.set_b_aperture)

    def beam_genie(self) -> BeamGenie:
        """Evaluation only: noise-free Set-A L1-RSRP sweep of every UE at its current position."""
        lb = link_budget(self.sc, self.cr, self.ues)
        u_p, w_p = channel_paths(self.sc, self.ues, lb)
        r = rsrp_set(self.cr, self.ues, lb, u_p, w_p, np.arange(self.sc.radio.n_beams_set_a), self.sc.radio.n_antennas)
        return BeamGenie(self.t_s, self.ue_ids.copy(), r, np.argmax(r, axis=1).astype(np.int64))

    def measure_beams(self, ue_ids: Sequence[int], beams: Sequence[Sequence[int]]) -> tuple[IntArray, list[FloatArray]]:
        """Beam refinement (aperiodic CSI-RS, 3GPP P2): each UE ``ue_ids[i]`` measures the Set-A beams ``beams[i]``
        of its serving cell now, with the L1-RSRP error model of the Set-B report (``rsrp_noise_db`` Gaussian,
        1 dB steps, -140..-44 dBm). Returns the serving cell id (U,) of each UE and its measurements, dBm, one
        array per UE aligned with ``beams[i]``. Noise comes from a stream of its own (no effect on the future)."""
        self._need_step()
        n_a = self.sc.radio.n_beams_set_a
        ue = np.asarray(ue_ids, dtype=np.int64)
        if len(ue) != len(beams):
            raise ValidationError("measure_beams: one beam list per UE")
        if len(ue) and (ue.min() < 0 or ue.max() >= len(self.ue_ids)):
            raise ValidationError("measure_beams: unknown UE id")
        for b in beams:
            if any(not 0 <= int(x) < n_a for x in b):
                raise ValidationError(f"measure_beams: beam outside Set A 0..{n_a - 1}")
        lb = link_budget(self.sc, self.cr, self.ues)
        u_p, w_p = channel_paths(self.sc, self.ues, lb)
        r = rsrp_set(self.cr, self.ues, lb, u_p, w_p, np.arange(n_a), self.sc.radio.n_antennas)
        cid = np.array([c.cell_id for c in self.sc.cells], dtype=np.int64)
        out = [measure_rsrp(r[u, np.asarray(b, dtype=np.int64)], self.sc.radio.rsrp_noise_db, self._rng_measure)
               for u, b in zip(ue, beams, strict=True)]
        return cid[self.ues.serving[ue]], out

    def estimation_truth(self) -> tuple[IntArray, IntArray, FloatArray]:
        """Evaluation only: per UE (U,) its serving cell index and the estimator mode it runs (index into
        :data:`MODES`), and (U, len(MODES)) the NMSE (linear) each mode gives it at its SNR and Doppler of the last
        sub-step: the values that lower its effective SINR."""
        self._need_step()
        assert self._last_radio is not None
        snr, dop, _ = self._last_radio
        srv = self.ues.serving
        mode = np.where(self.ue_mode >= 0, self.ue_mode, self.cell_mode[srv])
        per = np.stack([lookup_nmse(self.nmse_table, np.full(len(srv), m, dtype=np.int64), srv, snr, dop)
                        for m in range(len(MODES))], axis=1)
        return srv.copy(), mode.astype(np.int64), np.asarray(per, dtype=np.float64)

    def pilot_report(self, ue_ids: IntArray | None = None, n_prb: int = 4) -> PilotReport:
        """DMRS observations of ``ue_ids`` (default: all) at their current SNR, Doppler and cell profile."""
        self._need_step()
        assert self._last_radio is not None
        ids = self.ue_ids if ue_ids is None else np.asarray(ue_ids, dtype=np.int64)
        snr, dop, _ = self._last_radio
        srv = self.ues.serving[ids]
        # one observation batch per UE; profiles follow each UE's serving cell configuration
        cells = self.sc.cells
        c0 = cells[int(srv[0])] if len(srv) else cells[0]
        cfg = PilotConfig(n_prb=n_prb, scs_khz=c0.scs_khz)
        h = np.zeros((len(ids), 14, cfg.n_sc), dtype=np.complex128)
        for ci in np.unique(srv):
            sel = srv == ci
            c = cells[int(ci)]
            d, p = tdl_profile(c.tdl_profile, c.delay_spread_ns)
            h[sel] = tdl_channel(d, p, dop[ids][sel], cfg, self._rng_pilot)
        obs = generate_pilots(h, snr[ids], dop[ids], cfg, c0.tdl_profile, c0.delay_spread_ns, self._rng_pilot)
        mode = np.where(self.ue_mode[ids] >= 0, self.ue_mode[ids], self.cell_mode[srv])
        cid = np.array([c.cell_id for c in cells], dtype=np.int64)
        return PilotReport(self.t_s, ids, cid[srv], tuple(MODES[int(m)] for m in mode), obs)

    # ------------------------------------------------------------------ helpers
    def _need_step(self) -> None:
        if self._last_radio is None:
            raise ValidationError("step the emulator at least once before asking for PHY reports")

    def _cell(self, cell_id: int) -> int:
        if cell_id not in self._cell_index:
            raise ValidationError(f"unknown cell id {cell_id}; cells: {sorted(self._cell_index)}")
        return self._cell_index[cell_id]

    def _slice(self, sst: int, sd: str) -> int:
        key = (sst, sd.lower())
        if key not in self._slice_index:
            raise ValidationError(f"unknown S-NSSAI sst={sst} sd={sd}; slices: {list(self._slice_index)}")
        return self._slice_index[key]


def validate_shares(shares: FloatArray, where: str = "shares") -> None:
    """(..., N, S) shares must be finite, in [0, 1], with sums over the last axis <= 1."""
    s = np.asarray(shares, dtype=np.float64)
    if not np.isfinite(s).all() or (s < -1e-9).any() or (s > 1 + 1e-9).any():
        raise ValidationError(f"{where}: every share must be within [0, 1]")
    tot = s.sum(-1)
    if (tot > 1 + 1e-6).any():
        idx = tuple(int(i) for i in np.argwhere(tot > 1 + 1e-6)[0])
        raise ValidationError(f"{where}: shares at index {idx} sum to {float(tot[idx]):.3f} > 1")


