"""The closed loop in one process, lock-step, for benchmarks: the emulator with the xApps' own decision steps.

Every control period the slice scheduler's step (:func:`xapps.slice_scheduler.decide.decide_cell`: the shared
slice law inside the plan, then the guardrail) decides every cell from that cell's E2 KPM message; every transport
period the transport steering's step (:func:`xapps.transport_steering.core.decide`: the shared transport law inside
the plan) decides every up link from the link telemetry. Controls apply at the next sub-step, as over E2. The KPM
the rApp would receive (one message per cell per slow step) is kept as :class:`KpmReport` values, converted by the
twin service's own code, so a twin built from them sees exactly what the deployed rApp sees.

This is what runs in the deployed suite minus the transports (gRPC, SDL, HTTP), which `tests/test_demo.py` and the
process tests cover; it lets a benchmark run hundreds of horizons.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from nextric.control.batch import ControllerState, LawSpec, SliceDefaults
from nextric.control.policy import EMPTY_PLAN, ControlPlan
from nextric.control.slices import AllocatorParams, SliceObservation, SliceSla
from nextric.control.transport import TransportParams, sla_params
from nextric.e2 import ids, measurements
from nextric.e2sm.kpm.v1 import kpm_pb2
from nextric.guardrail import DEFAULT_POLICY, GuardrailPolicy, GuardrailState
from nextric.kpm import merge_messages
from testbed.core.engine import Emulator
from testbed.core.reports import ControlRequest, KpmReport, SlicePolicy, TransportShare
from testbed.e2node import EmulatedGnbs
from testbed.twin_service import TwinService
from xapps.slice_scheduler.decide import decide_cell
from xapps.transport_steering.core import LinkTelemetry
from xapps.transport_steering.core import decide as steer


def slice_keys(emu: Emulator) -> list[str]:
    return [ids.snssai_key(ids.make_snssai(s.sst, s.sd)) for s in emu.sc.slices]


def default_slas(emu: Emulator) -> dict[str, SliceSla]:
    """The scenario's ceilings; priorities as the slice scheduler's defaults rank them (delay slice first)."""
    out = {}
    for rank, (key, s) in enumerate(zip(slice_keys(emu), emu.sc.slices, strict=True)):
        prio = 100 if s.sla_p99_ms else len(emu.sc.slices) - 1 - rank
        out[key] = SliceSla(key, s.sla_loss, s.sla_p99_ms, prio)
    return out


def default_laws(emu: Emulator, guard: GuardrailPolicy = DEFAULT_POLICY, transport_period_steps: int = 5) -> LawSpec:
    """The laws as the deployed xApps run them with their default settings (the guardrail's step applied)."""
    p = AllocatorParams()
    step = max(1, min(p.max_step_pct, guard.max_step_pp, guard.high_step_pp - 1))
    slas = default_slas(emu)
    keys = slice_keys(emu)
    tp = sla_params([(k, slas[k].loss_ceiling, slas[k].p99_ceiling_ms) for k in keys])
    return LawSpec(AllocatorParams(max_step_pct=step), TransportParams(tp.margin, tp.priority), tuple(keys),
                   tuple(float(slas[k].priority) for k in keys), 1, transport_period_steps)


def slice_defaults(emu: Emulator) -> list[SliceDefaults]:
    return [SliceDefaults(k, s.loss_ceiling, s.p99_ceiling_ms) for k, s in default_slas(emu).items()]


@dataclass
class EmulatorLoop:
    """The emulator + the xApps' decisions, lock-step (see module docstring)."""

    emu: Emulator
    plan: ControlPlan = EMPTY_PLAN
    slice_law: bool = True
    transport_law: bool = True
    transport_period_steps: int = 5
    report_steps: int = 15  #: the rApp's KPM period in sub-steps (one slow step)
    guard: GuardrailPolicy = DEFAULT_POLICY
    gnbs: EmulatedGnbs = field(init=False)
    reports: list[KpmReport] = field(default_factory=list)  #: the rApp's view, one per ``report_steps``
    controls: int = 0  #: slice controls sent (changed ratios)
    steerings: int = 0  #: transport decisions applied
    _guards: dict[str, GuardrailState] = field(default_factory=dict)
    _prev_min: dict[str, dict[str, int]] = field(default_factory=dict)
    _sent: dict[str, tuple[tuple[int, int, int], ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.gnbs = EmulatedGnbs(self.emu)
        self._twin = TwinService(self.emu.sc, self.emu.sc.name, [b.cell_key for b in self.gnbs.bindings])
        self._keys = slice_keys(self.emu)
        self._slas = default_slas(self.emu)
        tp = default_laws(self.emu, self.guard, self.transport_period_steps).transport
        self._tparams = tp
        self._step_ms = round(self.emu.sc.timing.fast_step_s * 1000)

    @property
    def cell_keys(self) -> list[str]:
        return [b.cell_key for b in self.gnbs.bindings]

    @property
    def link_ids(self) -> list[str]:
        return [ln.name for ln in self.emu.sc.transport.links]

    def state(self) -> ControllerState:
        """What runs now, as the xApps publish it: ratios and shares in force, the smoothing baseline."""
        prev = np.full((self.emu.sc.n_cells, len(self._keys)), np.nan)
        for i, ck in enumerate(self.cell_keys):
            for j, k in enumerate(self._keys):
                if k in self._prev_min.get(ck, {}):
                    prev[i, j] = self._prev_min[ck][k]
        return ControllerState(self.emu.ratio_pct.copy(), prev, self.emu.tn_share.copy())

    def fork(self) -> EmulatorLoop:
        """An independent copy: the emulator deep-copied (same UEs, shocks and random streams from here on), the
        controllers' memory copied (their guardrail states are immutable values)."""
        emu = copy.deepcopy(self.emu)
        out = EmulatorLoop(emu, self.plan, self.slice_law, self.transport_law, self.transport_period_steps,
                           self.report_steps, self.guard)
        out.gnbs._history = copy.deepcopy(self.gnbs._history)
        out.reports = list(self.reports)
        out.controls, out.steerings = self.controls, self.steerings
        out._guards, out._prev_min, out._sent = dict(self._guards), copy.deepcopy(self._prev_min), dict(self._sent)
        return out

    def step(self) -> None:
        self.gnbs.advance()
        now_ms = self.gnbs.sim_time_ms
        done = self.emu.step_index
        req_policies: list[SlicePolicy] = []
        if self.slice_law:
            for b, msg in zip(self.gnbs.bindings, self.gnbs.kpm_messages(self._step_ms), strict=True):
                req_policies += self._decide_cell(b.cell_key, b.cell_id, msg, now_ms)
        shares: list[TransportShare] = []
        if self.transport_law and done % self.transport_period_steps == 0:
            shares = self._steer(now_ms)
        if req_policies or shares:
            self.emu.submit(ControlRequest(f"loop-{done}", tuple(req_policies), transport=tuple(shares)))
        if done % self.report_steps == 0:
            msgs = self.gnbs.kpm_messages(self.report_steps * self._step_ms)
            rep = self._twin.reports([merge_messages(msgs)])[0]
            self.reports.append(KpmReport(self.emu.t_s - self.report_steps * self.emu.sc.timing.fast_step_s,
                                          self.emu.t_s, self.report_steps, rep.cells))

    def run(self, steps: int) -> None:
        for _ in range(steps):
            self.step()

    def _decide_cell(self, ck: str, cell_id: int, msg: kpm_pb2.KpmIndicationMessage,
                     now_ms: int) -> list[SlicePolicy]:
        table = measurements.kpm_table(msg)
        obs = []
        for k in self._keys:
            row = table.get((ck, k), {})
            obs.append(SliceObservation(k, row.get(measurements.OFFERED_DL, 0.0), row.get(measurements.THP_DL, 0.0),
                                        row.get(measurements.PRB_USED_DL, 0.0), row.get(measurements.LOSS_DL, 0.0),
                                        row.get(measurements.DELAY_DL_P99, 0.0)))
        ci = self.cell_keys.index(ck)
        n_prb = float(self.emu.sc.cells[ci].n_prb)
        guard = self._guards.get(ck, GuardrailState())
        d = decide_cell(ck, obs, self.plan.apply_slas(ck, now_ms, self._slas), n_prb, self._prev_min.get(ck), guard,
                        now_ms / 1000.0, None, self.plan.cell_bounds(ck, now_ms), self.guard)
        if d.sent is None:
            return []
        self._prev_min[ck] = {k: r[1] for k, r in d.sent.items()}
        sent = tuple(d.sent[k] for k in self._keys)
        if self._sent.get(ck) == sent:
            return []
        self._sent[ck] = sent
        self._guards[ck] = guard.applied(d.verdict.action, now_ms / 1000.0)
        self.controls += 1
        return [SlicePolicy(cell_id, s.sst, s.sd, float(d.sent[k][0]), float(d.sent[k][1]), float(d.sent[k][2]))
                for k, s in zip(self._keys, self.emu.sc.slices, strict=True)]

    def _steer(self, now_ms: int) -> list[TransportShare]:
        offered, _ = self.emu.link_loads(self.transport_period_steps)
        up = self.emu.link_up
        links = [LinkTelemetry(ln.name, ln.capacity_mbps, bool(up[i]), tuple(float(x) for x in offered[i]),
                               tuple(float(x) for x in self.emu.tn_share[i]))
                 for i, ln in enumerate(self.emu.sc.transport.links)]
        shares = steer(links, self._keys, self._tparams, self.plan, now_ms)
        self.steerings += 1
        return [TransportShare(lid, tuple(per[k] for k in self._keys)) for lid, per in shares.items()]
