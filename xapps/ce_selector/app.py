"""Wiring of the channel-estimator selector: E2 PILOT indications in -> per-group windows -> proxy scores and
decision (core, in a worker thread) -> guardrail -> E2 estimator-mode controls out; the effect checked in later
PILOT reports (their ``estimator_mode``); group state and data requests in SDL; a read-only HTTP view. No
decision logic here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nextric.e2 import ids
from nextric.e2.client import E2Client
from nextric.e2.errors import E2Failure
from nextric.e2.node_tasks import NodeTasks
from nextric.e2.v1 import e2ap_pb2
from nextric.e2sm.rc.v1 import rc_pb2
from nextric.guardrail import CeModeAction, GuardrailPolicy, GuardrailState, Risk, check
from nextric.obs.health import Health
from nextric.phy.estimators import ChannelEstimator, LMMSEEstimatedCov, LSEstimator
from nextric.phy.grid import PilotObservation
from nextric.phy.neural import OnnxCeEstimator
from nextric.sdl.api import SdlBackend
from xapps.ce_selector.core import (
    CANDIDATES,
    LMMSE,
    LS,
    NEURAL,
    Decision,
    SelectorParams,
    evaluate_window,
    observation_from_report,
    stack,
)
from xapps.ce_selector.metrics import CeMetrics
from xapps.ce_selector.settings import CeSelectorSettings

log = logging.getLogger("xapp.ce_selector")
MODE_NAME = {rc_pb2.ESTIMATOR_MODE_LS: LS, rc_pb2.ESTIMATOR_MODE_LMMSE: LMMSE, rc_pb2.ESTIMATOR_MODE_NEURAL: NEURAL}
MODE_PROTO = {v: k for k, v in MODE_NAME.items()}
ALL = -1  #: the group key of a cell-scope decision


@dataclass
class Pending:
    mode: str
    effective_ms: int
    seen: int = 0


@dataclass
class GroupState:
    """One cell or UE group: its report window, choice and history."""

    cell_key: str
    group: int  #: UE group, or ALL for a cell-scope decision
    current: str
    window: list[PilotObservation] = field(default_factory=list)
    fresh: int = 0  #: reports since the last decision
    last: Decision | None = None
    last_ms: int = 0
    config: dict[str, Any] = field(default_factory=dict)
    switches: int = 0
    pending: Pending | None = None

    @property
    def target(self) -> str:
        return "cell" if self.group == ALL else f"group:{self.group}"

    def view(self) -> dict[str, Any]:
        d = self.last
        return {
            "cell": self.cell_key, "ue_group": None if self.group == ALL else self.group, "scope": self.target,
            "chosen": self.current, "decided_at_sim_ms": self.last_ms, "switches": self.switches,
            "observed_config": self.config,
            "validity": {"neural_in_range": not (d.violations if d else ()), "violations": list(d.violations) if d
                         else [], "data_requested": bool(d and d.fallback)},
            "candidates": [{"estimator": c.name, "proxy_nmse_db": c.proxy_nmse_db, "proxy_se_db": c.se_db,
                            "latency_us": c.latency_us, "eligible": c.eligible, "reason": c.reason}
                           for c in (d.scores if d else ())],
            "why": d.why if d else "no decision yet",
            "pending_control": None if self.pending is None else self.pending.mode,
        }


def measure_latency(estimators: dict[str, ChannelEstimator], obs: PilotObservation,
                    repeats: int = 5) -> dict[str, float]:
    """Median time (us) per observation (one 4-PRB block, one slot) of each estimator on ``obs``."""
    out = {}
    for name, e in estimators.items():
        e.estimate(obs)  # warm-up
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            e.estimate(obs)
            ts.append(time.perf_counter() - t0)
        out[name] = float(np.median(ts)) / obs.n * 1e6
    return out


class CeSelectorApp:
    def __init__(self, settings: CeSelectorSettings, sdl: SdlBackend, health: Health, metrics: CeMetrics,
                 client: E2Client, neural: OnnxCeEstimator | None) -> None:
        self.s = settings
        self.sdl = sdl
        self.health = health
        self.m = metrics
        self.client = client
        self.neural = neural
        self.params = SelectorParams(**settings.selector.model_dump(exclude={"max_window"}))
        self.policy = GuardrailPolicy(kind_intervals={"ce_mode": settings.guard.min_interval_ms / 1000.0})
        self.guard = GuardrailState()
        self.estimators: dict[str, ChannelEstimator] = {LS: LSEstimator(), LMMSE: LMMSEEstimatedCov()}
        if neural is not None:
            self.estimators[NEURAL] = neural
            self.m.model_loaded.labels(neural.version).set(1)
        self.latency_us: dict[str, float] = {}
        self.groups: dict[tuple[str, int], GroupState] = {}
        self.node_tasks = NodeTasks(self.node_loop)
        self.lock = asyncio.Lock()
        self.indications = 0
        self.sent = 0
        for c in ("e2", "model", "sdl"):
            health.register(c)
        health.set("model", True, neural.version if neural else "no neural model: classical estimators only")
        health.set("sdl", True, "ok")

    # ------------------------------------------------------------------ views
    def groups_view(self) -> list[dict[str, Any]]:
        return [g.view() for _, g in sorted(self.groups.items())]

    # ------------------------------------------------------------------ one indication
    def _latency(self, obs: PilotObservation) -> dict[str, float]:
        if not self.latency_us and obs.n >= 4:
            self.latency_us = measure_latency(self.estimators, obs)
            self.m.set_latency(self.latency_us)
        return self.latency_us

    def evaluate(self, g: GroupState) -> Decision:
        """Scores and decision of one group window (CPU work: runs in a worker thread)."""
        obs = stack(g.window)
        lat = self._latency(obs)
        t0 = time.perf_counter()
        cfg, d = evaluate_window(obs, self.estimators, self.neural.card if self.neural else None, lat, g.current,
                                 self.params)
        self.m.scoring_seconds.observe(time.perf_counter() - t0)
        g.config = cfg.as_mapping()
        return d

    def _key(self, cell_key: str, ue_group: int) -> tuple[str, int]:
        return (cell_key, ALL if self.s.scope == "cell" else ue_group)

    def ingest(self, ind: e2ap_pb2.RicIndication) -> list[GroupState]:
        """Add the indication's reports to their groups' windows; returns groups that are due a decision."""
        now = int(ind.header.sim_time_ms)
        due: list[GroupState] = []
        for r in ind.pilot.reports:
            try:
                o = observation_from_report(r.rx, r.ref, r.dmrs_symbols, r.dmrs_subcarriers, r.n_prb, r.scs_khz,
                                            r.snr_db_estimate, r.doppler_hz_estimate)
            except ValueError as exc:
                self.m.bad_reports.inc()
                log.warning("bad PILOT report", extra={"ue": r.ue_id, "error": str(exc)})
                continue
            ck = ids.cell_key(r.cgi)
            key = self._key(ck, int(r.ue_group))
            g = self.groups.get(key)
            if g is None:
                mode = MODE_NAME.get(r.estimator_mode, self.s.initial_mode)
                g = self.groups[key] = GroupState(ck, key[1], mode)
            reported = MODE_NAME.get(r.estimator_mode)
            self.check_effect(g, now, reported)
            if g.pending is None and reported is not None:
                g.current = reported  # the node's word on what runs (another controller, a node restart)
            if g.window and (g.window[0].pilot_sc.shape != o.pilot_sc.shape
                             or g.window[0].dmrs_sym.shape != o.dmrs_sym.shape):
                g.window.clear()  # the geometry changed: start a new window
            g.window.append(o)
            del g.window[:-self.s.selector.max_window]
            g.fresh += 1
            self.m.reports.inc()
            if g.fresh >= self.params.min_reports and len(g.window) >= self.params.min_reports and g not in due:
                due.append(g)
        return due

    def check_effect(self, g: GroupState, now_ms: int, reported: str | None) -> None:
        """After a control takes effect, the group's reports must show the new mode."""
        p = g.pending
        if p is None or now_ms <= p.effective_ms or reported is None:
            return
        if reported == p.mode:
            self.m.effect.labels("confirmed").inc()
            g.pending = None
            return
        p.seen += 1
        if p.seen >= self.s.effect_reports:
            self.m.effect.labels("not_applied").inc()
            log.warning("estimator mode control not seen in reports", extra={"cell": g.cell_key, "group": g.group,
                                                                             "mode": p.mode, "reported": reported})
            g.pending = None

    def record(self, g: GroupState, d: Decision) -> None:
        labels = (g.cell_key, str(g.group))
        for c in d.scores:
            if c.proxy_nmse_db is not None:
                self.m.proxy_nmse.labels(*labels, c.name).set(c.proxy_nmse_db)
                self.m.proxy_se.labels(*labels, c.name).set(c.se_db if c.se_db is not None else float("nan"))
        for name in CANDIDATES:
            self.m.chosen.labels(*labels, name).set(1 if name == d.choice else 0)
        self.m.decisions.labels(d.choice).inc()
        neural = next(c for c in d.scores if c.name == NEURAL)
        if not neural.eligible:
            self.m.fallbacks.labels(neural.reason or "unknown").inc()
        self.m.data_requests.labels(*labels).set(1 if d.fallback else 0)

    async def decide_group(self, node: e2ap_pb2.E2NodeInfo, g: GroupState, now_ms: int) -> None:
        d = await asyncio.to_thread(self.evaluate, g)
        g.fresh = 0
        g.last, g.last_ms = d, now_ms
        self.record(g, d)
        if d.fallback:
            log.info("group outside the neural card's validity range: classical estimators, more data requested",
                     extra={"cell": g.cell_key, "group": g.group, "violations": list(d.violations)})
        await self.save(g, d)
        if not d.switched:
            return
        action = CeModeAction(g.cell_key, g.target, d.choice.lower(), Risk.MEDIUM if d.choice == NEURAL else Risk.LOW)
        verdict = check(action, self.guard.context(now_ms / 1000.0, self.policy))
        if not verdict.allowed:
            for r in verdict.reasons:
                self.m.controls_denied.labels(r.code.value).inc()
            return
        if not self.s.control:
            return
        cell = next((c for c in node.cells if ids.cell_key(c.cgi) == g.cell_key), None)
        if cell is None:
            return
        asg = rc_pb2.EstimatorAssignment(cgi=cell.cgi, ue_group=max(g.group, 0), all_groups=g.group == ALL,
                                         mode=MODE_PROTO[d.choice])
        req = e2ap_pb2.RicControlRequest(node_id=node.node_id,
                                         estimator_mode=rc_pb2.EstimatorModeControl(assignments=[asg]))
        try:
            ack = await self.client.control(req)
        except E2Failure as exc:
            self.m.controls_failed.labels(exc.value).inc()
            log.warning("estimator mode refused", extra={"cell": g.cell_key, "group": g.group, "error": str(exc)})
            return
        echoed = [a.mode for a in ack.estimator_mode.assignments]
        if echoed != [MODE_PROTO[d.choice]]:
            self.m.controls_failed.labels("not-echoed").inc()
            return
        self.guard = self.guard.applied(action, now_ms / 1000.0)
        g.switches += 1
        g.current = d.choice
        g.pending = Pending(d.choice, int(ack.effective_sim_time_ms))
        self.m.switches.labels(d.choice).inc()
        self.m.controls_sent.inc()
        self.sent += 1
        log.info("estimator switched", extra={"cell": g.cell_key, "group": g.group, "from": d.previous,
                                              "to": d.choice, "why": d.why})
        await self.save(g, d)

    async def save(self, g: GroupState, d: Decision) -> None:
        """Group state, and a data request while the group is outside the card's range, in SDL."""
        key = f"{g.cell_key}/{g.target}"
        try:
            await self.sdl.set(self.s.sdl_namespace, {f"group/{key}": json.dumps(g.view()).encode()})
            if d.fallback:
                req = {"cell": g.cell_key, "scope": g.target, "model": self.neural.version if self.neural else None,
                       "observed_config": g.config, "violations": list(d.violations), "at_sim_ms": g.last_ms,
                       "ask": "pilot data with ground truth for this configuration (outside the model card's range)"}
                await self.sdl.set(self.s.sdl_namespace, {f"data_request/{key}": json.dumps(req).encode()})
            else:
                await self.sdl.delete(self.s.sdl_namespace, [f"data_request/{key}"])
            self.health.set("sdl", True, "ok")
        except Exception as exc:  # SDL down: keep deciding
            self.health.set("sdl", False, str(exc))

    async def handle(self, node: e2ap_pb2.E2NodeInfo, ind: e2ap_pb2.RicIndication) -> None:
        async with self.lock:  # one decision at a time: the guardrail state and the windows are shared
            self.indications += 1
            for g in self.ingest(ind):
                await self.decide_group(node, g, int(ind.header.sim_time_ms))

    # ------------------------------------------------------------------ E2 plumbing
    async def node_loop(self, node: e2ap_pb2.E2NodeInfo) -> None:
        stream = self.client.subscribe(node.node_id, e2ap_pb2.REPORT_STYLE_PILOT, self.s.report_period_ms)
        try:
            async for ind in stream:
                if ind.WhichOneof("message") == "pilot":
                    try:
                        await self.handle(node, ind)
                    except Exception:  # one bad indication must not stop the node loop
                        log.exception("PILOT indication failed")
        finally:
            with contextlib.suppress(Exception):
                await stream.aclose()

    async def refresh_nodes(self) -> None:
        self.node_tasks.sync({n.node_id: n for n in await self.client.list_nodes()})
        self.health.set("e2", True, f"{len(self.node_tasks)} nodes")

    async def run(self, stop: asyncio.Event) -> None:
        last_nodes = 0.0
        try:
            while not stop.is_set():
                now = time.monotonic()
                if now - last_nodes >= self.s.node_refresh_s or self.node_tasks.any_done():
                    try:
                        await self.refresh_nodes()
                        last_nodes = now
                    except E2Failure as exc:
                        self.health.set("e2", False, str(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.s.node_refresh_s)
        finally:
            await self.node_tasks.close()
