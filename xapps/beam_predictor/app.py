"""Wiring of the beam predictor: E2 BEAM indications in -> one ONNX batch per report period -> decisions (core) ->
[top-K refinement: E2 beam_measure control, the node's measurements in its acknowledge] -> guardrail -> E2
serving-beam switches out; outcomes checked in the next reports; hot model reload. No decision
logic here.

Batching: each node's subscription stream feeds one queue; a single worker drains whatever indications are
waiting (all cells of one report period arrive together) into one inference batch. A model reload swaps the
model reference between batches, so no report is dropped or waits for the load.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from nextric.e2 import ids
from nextric.e2.client import E2Client
from nextric.e2.errors import E2Failure
from nextric.e2.node_tasks import NodeTasks
from nextric.e2.v1 import e2ap_pb2
from nextric.e2sm.beam.v1 import beam_pb2
from nextric.e2sm.rc.v1 import rc_pb2
from nextric.guardrail import BeamSwitchAction, GuardrailPolicy, GuardrailState, check
from nextric.nr_arfcn import carrier_mhz
from nextric.obs.health import Health
from xapps.beam_predictor.core import (
    AHEAD,
    MODEL,
    NO_MODEL,
    SUBSET,
    VALIDITY,
    WIDE,
    CellBeamConfig,
    PendingSwitch,
    ReportHistory,
    UeDecision,
    ahead_features,
    decide,
    decide_ahead,
    features,
    input_order,
    outcome,
    rank,
    refined,
    refinement_candidates,
    switches_needed,
)
from xapps.beam_predictor.metrics import BeamMetrics
from xapps.beam_predictor.model import AheadModel, BeamModel, ModelStore
from xapps.beam_predictor.settings import BeamPredictorSettings

log = logging.getLogger("xapp.beam_predictor")


@dataclass
class CellGroup:
    """The UE reports of one cell in one indication (one Set-B configuration)."""

    node: e2ap_pb2.E2NodeInfo
    cell: e2ap_pb2.CellInfo
    cell_key: str
    config: CellBeamConfig
    beam_ids: list[int]
    ue_ids: list[int]
    serving: list[int]
    rsrp: np.ndarray  #: (U, B_B) dBm in report order
    now_ms: int
    violations: list[str] = field(default_factory=list)
    order: np.ndarray | None = None
    decisions: list[UeDecision] = field(default_factory=list)


class BeamPredictorApp:
    def __init__(self, settings: BeamPredictorSettings, health: Health, metrics: BeamMetrics, client: E2Client,
                 store: ModelStore[BeamModel], ahead_store: ModelStore[AheadModel] | None = None) -> None:
        self.s = settings
        self.health = health
        self.m = metrics
        self.client = client
        self.store = store
        #: BM-Case2 (PREDICT_AHEAD > 0): the model ahead of time and each UE's last Set-B reports
        self.ahead_store = ahead_store if settings.predict_ahead else None
        self.history = ReportHistory(1, settings.report_period_ms * 3 // 2)
        self.logged_ahead: dict[str, tuple[str, ...]] = {}
        self.policy = GuardrailPolicy(kind_intervals={"beam_switch": settings.guard.min_interval_ms / 1000.0})
        self.queue: asyncio.Queue[tuple[e2ap_pb2.E2NodeInfo, e2ap_pb2.RicIndication]] = asyncio.Queue()
        self.node_tasks = NodeTasks(self.node_loop)
        self.guards: dict[str, GuardrailState] = defaultdict(GuardrailState)
        self.pending: dict[tuple[str, int], PendingSwitch] = {}
        self.logged_violations: dict[str, tuple[str, ...]] = {}
        self.indications = 0  #: indications received (all are processed: the queue is unbounded)
        self.processed = 0
        self.sent = 0
        self._shown_version: str | None = None
        for c in ("e2", "model"):
            health.register(c)
        self._model_health()

    # ------------------------------------------------------------------ model
    def _model_health(self) -> None:
        model = self.store.current
        version = model.version if model else None
        if version != self._shown_version:
            if self._shown_version is not None:
                self.m.model_loaded.labels(self._shown_version).set(0)
            if version is not None:
                self.m.model_loaded.labels(version).set(1)
            self._shown_version = version
        # no model is not an outage: the xApp serves the classical choice and says so
        self.health.set("model", True, version or f"classical fallback only: {self.store.last_error}")

    def min_margin(self, model: BeamModel) -> float:
        return self.s.min_margin if self.s.min_margin is not None else model.min_margin

    # ------------------------------------------------------------------ one batch
    def groups_of(self, node: e2ap_pb2.E2NodeInfo, ind: e2ap_pb2.RicIndication) -> list[CellGroup]:
        msg = ind.beam
        cells = {ids.cell_key(c.cgi): c for c in node.cells}
        by: dict[tuple[str, tuple[int, ...]], list[int]] = defaultdict(list)
        for i, r in enumerate(msg.reports):
            by[(ids.cell_key(r.cgi), tuple(r.beam_ids))].append(i)
        out = []
        for (ck, beam_ids), rows in by.items():
            cell = cells.get(ck)
            if cell is None or not beam_ids:
                log.warning("BEAM report for an unknown cell or without beams", extra={"cell": ck})
                continue
            reps = [msg.reports[i] for i in rows]
            rsrp = np.array([list(r.l1_rsrp_dbm) for r in reps], dtype=np.float32)
            if rsrp.shape != (len(reps), len(beam_ids)):
                log.warning("BEAM report with mismatched RSRP and beam lists", extra={"cell": ck})
                continue
            kind = WIDE if msg.set_b_kind == beam_pb2.SET_B_KIND_WIDE else SUBSET  # unspecified: an older node
            cfg = CellBeamConfig(int(msg.set_a_size), tuple(sorted(beam_ids)), self.s.n_antennas,
                                 carrier_mhz(cell.dl_arfcn), kind, int(msg.set_b_elements))
            out.append(CellGroup(node, cell, ck, cfg, list(beam_ids), [int(r.ue_id) for r in reps],
                                 [int(r.serving_beam) for r in reps], rsrp, int(ind.header.sim_time_ms)))
        return out

    def predict(self, groups: list[CellGroup]) -> None:
        """Fill every group's decisions: one inference over all groups the model may serve."""
        model = self.store.current
        runnable: list[CellGroup] = []
        for g in groups:
            if model is None:
                continue
            g.violations = model.violations(g.config)
            g.order = input_order(g.beam_ids, model.set_b) if not g.violations else None
            if g.violations or g.order is None:
                g.violations = g.violations or [f"set_b={g.beam_ids} is not the model's {list(model.set_b)}"]
                key = tuple(g.violations)
                if self.logged_violations.get(g.cell_key) != key:
                    self.logged_violations[g.cell_key] = key
                    log.warning("cell outside the model's validity range: classical fallback",
                                extra={"cell": g.cell_key, "model": model.version, "violations": list(key)})
                continue
            runnable.append(g)
        probs = None
        if runnable and model is not None:
            x = np.concatenate([features(g.rsrp[:, g.order]) for g in runnable])
            t0 = time.perf_counter()
            probs = model.predict(x)
            self.m.inference_latency.observe(time.perf_counter() - t0)
            self.m.batches.inc()
            self.m.batch_ues.observe(len(x))
        start = 0
        served = {id(g) for g in runnable}
        for g in groups:
            ranking = None
            if probs is not None and model is not None and id(g) in served:
                ranking = rank(probs[start:start + len(g.ue_ids)], max(self.s.top_k, self.s.refine_k))
                start += len(g.ue_ids)
            margin = self.min_margin(model) if model is not None else 0.0
            g.decisions = decide(g.ue_ids, g.rsrp, g.beam_ids, ranking, g.violations, margin)
        if self.s.predict_ahead:
            self.predict_ahead(groups)
        for g in groups:
            for d in g.decisions:
                self.m.decisions.labels(d.source).inc()
                if d.source in (MODEL, AHEAD):
                    self.m.confidence.observe(d.confidence)
                else:
                    self.m.fallbacks.labels(d.reason or "unknown").inc()
                    if d.reason == "low_confidence":
                        log.debug("low confidence: best Set-B beam", extra={"cell": g.cell_key, "ue": d.ue_id,
                                                                            "margin": d.confidence})
            self.m.reports.inc(len(g.ue_ids))

    def predict_ahead(self, groups: list[CellGroup]) -> None:
        """BM-Case2: replace the decisions of every group the ahead model may serve by its prediction
        ``PREDICT_AHEAD`` report periods ahead from the UEs' last reports (one inference for all of them). A group
        it may not serve (no model, configuration or report period outside its card) keeps its BM-Case1 decisions
        (model or classical), counted in ``ahead_fallbacks``; the UEs' histories are kept either way."""
        h = self.s.predict_ahead
        model = self.ahead_store.current if self.ahead_store is not None else None
        if model is not None and self.history.n != model.history:
            self.history = ReportHistory(model.history, self.history.max_gap_ms)
        runnable: list[tuple[CellGroup, np.ndarray]] = []
        for g in groups:
            if model is None:
                self.m.ahead_fallbacks.labels(NO_MODEL).inc(len(g.ue_ids))
                continue
            viol = model.violations(g.config, self.s.report_period_ms)
            if h not in model.horizons:
                viol.append(f"predict_ahead={h} not among the model's horizons {list(model.horizons)}")
            order = input_order(g.beam_ids, model.set_b) if not viol else None
            if viol or order is None:
                key = tuple(viol or [f"set_b={g.beam_ids} is not the model's {list(model.set_b)}"])
                if self.logged_ahead.get(g.cell_key) != key:
                    self.logged_ahead[g.cell_key] = key
                    log.warning("cell outside the ahead model's validity range: BM-Case1 decision",
                                extra={"cell": g.cell_key, "model": model.version, "violations": list(key)})
                self.m.ahead_fallbacks.labels(VALIDITY).inc(len(g.ue_ids))
                continue
            hist = self.history.push([(g.node.node_id, ue) for ue in g.ue_ids], g.cell_key, g.now_ms,
                                     g.rsrp[:, order])
            runnable.append((g, hist))
        if groups:
            self.history.prune(max(g.now_ms for g in groups))
        if not runnable or model is None:
            return
        x = ahead_features(np.concatenate([hist for _, hist in runnable]))
        t0 = time.perf_counter()
        probs = model.predict(x)[:, model.horizons.index(h)]
        self.m.inference_latency.observe(time.perf_counter() - t0)
        start = 0
        for g, _ in runnable:
            ranking = rank(probs[start:start + len(g.ue_ids)], self.s.top_k)
            start += len(g.ue_ids)
            g.decisions = decide_ahead(g.ue_ids, ranking, g.decisions)

    def check_outcomes(self, g: CellGroup) -> None:
        for ue, beam in zip(g.ue_ids, g.serving, strict=True):
            pend = self.pending.get((g.cell_key, ue))
            if pend is None:
                continue
            res = outcome(pend, g.now_ms, beam)
            if res is not None:
                del self.pending[(g.cell_key, ue)]
                self.m.switch_outcome.labels(res).inc()

    async def refine(self, node: e2ap_pb2.E2NodeInfo, groups: list[CellGroup]) -> None:
        """Top-K refinement: one E2 ``beam_measure`` control per node asks every reported UE to measure K Set-A
        beams (the model's top-K, or the best Set-B beam's angular neighbours for a fallback); each UE in the
        outcome is served the best measured. A refused control or a UE left out keeps the prediction."""
        k = self.s.refine_k
        cands: list[list[tuple[int, ...]]] = []
        reqs = []
        for g in groups:
            k_g = min(k, g.config.set_a_size)
            cs = [refinement_candidates(d, g.rsrp[i], g.beam_ids, g.config.set_a_size, k_g)
                  for i, d in enumerate(g.decisions)]
            cands.append(cs)
            reqs += [rc_pb2.BeamMeasureRequest(cgi=g.cell.cgi, ue_id=d.ue_id, beam_ids=list(c))
                     for d, c in zip(g.decisions, cs, strict=True)]
        if not reqs:
            return
        try:
            ack = await self.client.control(e2ap_pb2.RicControlRequest(
                node_id=node.node_id, beam_measure=rc_pb2.BeamMeasureControl(requests=reqs)))
        except E2Failure as exc:
            self.m.refinements.labels("failed").inc(len(reqs))
            log.warning("beam refinement refused: serving the predictions", extra={"node": node.node_id,
                                                                                   "error": str(exc)})
            return
        got = {(ids.cell_key(m.cgi), int(m.ue_id)): m for m in ack.beam_measure.measurements}
        for g, cs in zip(groups, cands, strict=True):
            for i, (d, c) in enumerate(zip(g.decisions, cs, strict=True)):
                m = got.get((g.cell_key, d.ue_id))
                if m is None or tuple(m.beam_ids) != c or len(m.l1_rsrp_dbm) != len(c):
                    self.m.refinements.labels("missing").inc()
                    continue
                new = refined(d, c, list(m.l1_rsrp_dbm), self.s.refine_prior_db)
                self.m.refinements.labels("measured").inc()
                if new.beam != d.beam:
                    self.m.refinement_changed.labels(d.source).inc()
                g.decisions[i] = new

    async def control(self, node: e2ap_pb2.E2NodeInfo, groups: list[CellGroup]) -> None:
        """Guardrail every wanted switch of one node, send the allowed ones in one control, record the ack."""
        allowed: list[tuple[CellGroup, BeamSwitchAction]] = []
        for g in groups:
            now_s = g.now_ms / 1000.0
            guard = self.guards[g.cell_key]
            for d in switches_needed(g.decisions, dict(zip(g.ue_ids, g.serving, strict=True))):
                action = BeamSwitchAction(g.cell_key, str(d.ue_id), d.beam)
                verdict = check(action, guard.context(now_s, self.policy))
                if not verdict.allowed:
                    for r in verdict.reasons:
                        self.m.switches_denied.labels(r.code.value).inc()
                    continue
                allowed.append((g, action))
        if not allowed or not self.s.switch:
            return
        req = e2ap_pb2.RicControlRequest(node_id=node.node_id, beam_switch=rc_pb2.BeamSwitchControl(switches=[
            rc_pb2.BeamSwitch(cgi=g.cell.cgi, ue_id=int(a.ue_id), beam_id=a.beam_id) for g, a in allowed]))
        try:
            ack = await self.client.control(req)
        except E2Failure as exc:
            self.m.switches_failed.labels(exc.value).inc()
            log.warning("beam switch refused", extra={"node": node.node_id, "error": str(exc)})
            return
        echoed = {(int(s.ue_id), int(s.beam_id)) for s in ack.beam_switch.switches}
        for g, a in allowed:
            if (int(a.ue_id), a.beam_id) not in echoed:
                self.m.switches_failed.labels("not-echoed").inc()
                continue
            self.guards[g.cell_key] = self.guards[g.cell_key].applied(a, g.now_ms / 1000.0)
            self.pending[(g.cell_key, int(a.ue_id))] = PendingSwitch(a.beam_id, int(ack.effective_sim_time_ms))
            self.m.switches_sent.inc()
            self.sent += 1

    async def process(self, batch: list[tuple[e2ap_pb2.E2NodeInfo, e2ap_pb2.RicIndication]]) -> None:
        groups: list[CellGroup] = []
        for node, ind in batch:
            groups.extend(self.groups_of(node, ind))
        for g in groups:
            self.check_outcomes(g)
        self.predict(groups)
        by_node: dict[str, list[CellGroup]] = defaultdict(list)
        for g in groups:
            by_node[g.node.node_id].append(g)
        if self.s.refine_k > 0:
            await asyncio.gather(*(self.refine(gs[0].node, gs) for gs in by_node.values()))
        await asyncio.gather(*(self.control(gs[0].node, gs) for gs in by_node.values()))
        self.processed += len(batch)

    async def worker(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self.s.max_batch_reports and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await self.process(batch)
            except Exception:  # one bad batch must not stop the xApp
                log.exception("beam batch failed")
                self.processed += len(batch)

    # ------------------------------------------------------------------ E2 plumbing
    async def node_loop(self, node: e2ap_pb2.E2NodeInfo) -> None:
        stream = self.client.subscribe(node.node_id, e2ap_pb2.REPORT_STYLE_BEAM, self.s.report_period_ms)
        try:
            async for ind in stream:
                if ind.WhichOneof("message") == "beam":
                    self.indications += 1
                    self.queue.put_nowait((node, ind))
        finally:
            with contextlib.suppress(Exception):
                await stream.aclose()

    async def refresh_nodes(self) -> None:
        self.node_tasks.sync({n.node_id: n for n in await self.client.list_nodes()})
        self.health.set("e2", True, f"{len(self.node_tasks)} nodes")

    async def reload(self) -> None:
        res = await self.store.poll()
        if res is not None:
            self.m.model_reloads.labels(res).inc()
            self.logged_violations.clear()
            self._model_health()
        if self.ahead_store is not None and (res := await self.ahead_store.poll()) is not None:
            self.m.model_reloads.labels(res).inc()
            self.logged_ahead.clear()

    async def run(self, stop: asyncio.Event) -> None:
        worker = asyncio.create_task(self.worker())
        last_nodes = last_reload = 0.0
        try:
            while not stop.is_set():
                now = time.monotonic()
                if now - last_nodes >= self.s.node_refresh_s or self.node_tasks.any_done():
                    try:
                        await self.refresh_nodes()
                        last_nodes = now
                    except E2Failure as exc:
                        self.health.set("e2", False, str(exc))
                if now - last_reload >= self.s.reload_check_s:
                    await self.reload()
                    last_reload = now
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), min(self.s.node_refresh_s, self.s.reload_check_s))
        finally:
            await self.node_tasks.close()
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
