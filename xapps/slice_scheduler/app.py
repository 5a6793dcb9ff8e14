"""Wiring of the slice scheduler: E2 KPM in -> decide_round (the shared law of :mod:`nextric.control.slices` +
guardrail, every cell of a round on the cells' state as arrays) -> E2 control out; SDL state, A1 policies from
the policy service, the rApp plan from SDL, sharding, metrics. No decision logic here.

Simulated time only: decisions follow the KPM indications; the rApp plan and the A1 policies are (re)loaded when
their SDL notifications arrive (``nextric.sdl.follow``), never on a wall-clock timer, so two runs of one seed make
the same decisions. The law's parameters as they run (the allocator's settings with the guardrail's step limit
applied) are published in SDL (``law``) for the rApp's digital twin.

Failure behaviour: a node restart is absorbed by the E2 client (resubscribe, new incarnation); an SDL outage
keeps the loop deciding from memory (writes are retried, ``sdl`` goes not-ready); a restart of this process
reloads every assigned cell's state from SDL before the first decision.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from nextric.control.policy import EMPTY_PLAN, PLAN_CHANNEL, ControlPlan, decode_plan
from nextric.control.slices import AllocatorParams, Ratio, SliceObservation, SliceSla
from nextric.e2 import ids, measurements
from nextric.e2.client import E2Client
from nextric.e2.errors import E2Failure
from nextric.e2.node_tasks import NodeTasks
from nextric.e2.v1 import e2ap_pb2
from nextric.e2sm.rc.v1 import rc_pb2
from nextric.errors import ValidationError
from nextric.guardrail import Action, Decision, GuardrailPolicy, from_a1, merge, sla_from_a1
from nextric.guardrail import SliceSla as A1Sla
from nextric.guardrail.codec import action_to_json
from nextric.guardrail.policy import applies_to
from nextric.obs.health import Health
from nextric.sdl.api import SdlBackend
from nextric.sdl.follow import follow
from xapps.slice_scheduler.book import SliceBook
from xapps.slice_scheduler.decide import CellDecision, member_of
from xapps.slice_scheduler.effect import PendingEffect, check_report, echo_matches
from xapps.slice_scheduler.metrics import SliceMetrics
from xapps.slice_scheduler.rounds import RoundCell, decide_round
from xapps.slice_scheduler.settings import SliceSchedulerSettings
from xapps.slice_scheduler.sharding import HashRing
from xapps.slice_scheduler.state import CellState, state_key

log = logging.getLogger("xapp.slice_scheduler")
SLA_TYPE = "ORAN_SliceSLATarget_1.0.0"
GUARD_TYPE = "NEXTRIC_Guardrail_1.0.0"
A1_CHANNEL = "a1"  #: SDL channel on which the policy service announces A1 policy changes
MAX_PENDING_REPORTS = 256  #: applied reports in flight to the policy service; more are dropped (counted)


def observations(table: measurements.KpmTable, cell: e2ap_pb2.CellInfo) -> list[SliceObservation]:
    key = ids.cell_key(cell.cgi)
    out = []
    for s in cell.slices:
        row = table.get((key, ids.snssai_key(s)), {})
        out.append(SliceObservation(
            key=ids.snssai_key(s), offered_mbps=row.get(measurements.OFFERED_DL, 0.0),
            throughput_mbps=row.get(measurements.THP_DL, 0.0), prb_used=row.get(measurements.PRB_USED_DL, 0.0),
            loss=row.get(measurements.LOSS_DL, 0.0), p99_ms=row.get(measurements.DELAY_DL_P99, 0.0)))
    return out


def quota_cell(cell: e2ap_pb2.CellInfo, ratios: Mapping[str, Ratio]) -> rc_pb2.CellRrmPolicy:
    pols = []
    for s in cell.slices:
        r = ratios.get(ids.snssai_key(s))
        if r is None:
            continue
        pols.append(rc_pb2.RrmPolicyRatio(
            members=[rc_pb2.RrmPolicyMember(plmn=cell.cgi.plmn, snssai=s)],
            dedicated_prb_policy_ratio=r[0], min_prb_policy_ratio=r[1], max_prb_policy_ratio=r[2]))
    return rc_pb2.CellRrmPolicy(cgi=cell.cgi, policies=pols)


def echoed(ack: e2ap_pb2.RicControlAcknowledge) -> dict[str, Ratio]:
    out: dict[str, Ratio] = {}
    for cell in ack.slice_quota.cells:
        for p in cell.policies:
            for m in p.members:
                out[ids.snssai_key(m.snssai)] = (
                    p.dedicated_prb_policy_ratio, p.min_prb_policy_ratio, p.max_prb_policy_ratio)
    return out


@dataclass(frozen=True)
class _Prepared:
    """One cell of a round, ready to decide."""

    node: e2ap_pb2.E2NodeInfo
    cell: e2ap_pb2.CellInfo
    state: CellState
    inp: RoundCell
    now_ms: int


_Queued = tuple[e2ap_pb2.E2NodeInfo, e2ap_pb2.RicIndication, float, "asyncio.Future[None]"]


class SliceSchedulerApp:
    def __init__(self, settings: SliceSchedulerSettings, sdl: SdlBackend, health: Health,
                 metrics: SliceMetrics, client: E2Client) -> None:
        self.s = settings
        self.sdl = sdl
        self.health = health
        self.m = metrics
        self.client = client
        self.instance = settings.shard.instance_id or f"{socket.gethostname()}-{os.getpid()}"
        self.params = AllocatorParams(**settings.allocator.model_dump())
        self.cells: dict[str, CellState] = {}  #: each cell's durable record (SDL)
        self.book = SliceBook()  #: the cells' decision state as arrays (loaded from ``cells``, updated with them)
        self.pending: dict[str, PendingEffect] = {}
        self.dirty: set[str] = set()
        self.sdl_ok = False  #: last SDL operation succeeded (False until the first heartbeat)
        self.a1_slas: list[A1Sla] = []
        self.a1_guards: list[dict[str, Any]] = []
        self.plan: ControlPlan = EMPTY_PLAN
        self.plan_errors = 0
        self.a1_version = 0  #: A1 refreshes done (tests and the lock-step driver wait on it)
        self.node_tasks = NodeTasks(self.node_loop)
        self.http: httpx.AsyncClient | None = None  #: the policy service (A1 policies, applied-action audit)
        self.reports: set[asyncio.Task[None]] = set()
        self.members: list[str] = [self.instance]
        self.decisions = 0
        self.handled = 0  #: cells whose period is fully handled (control acknowledged or none needed)
        self.sent = 0
        self.rounds: asyncio.Queue[_Queued] = asyncio.Queue()  #: indications waiting for the next decision round
        self._decider: asyncio.Task[None] | None = None
        for c in ("e2", "sdl"):
            health.register(c)

    # ------------------------------------------------------------------ policies, plan, SLAs
    def slas_for(self, cell_key: str) -> dict[str, SliceSla]:
        out: dict[str, SliceSla] = {}
        for d in self.s.slices:
            key = f"{d.sst}-{d.sd.lower()}" if d.sd else str(d.sst)
            out[key] = SliceSla(key, d.loss_ceiling, d.p99_ceiling_ms, d.priority)
        for a in self.a1_slas:
            for key, base in list(out.items()):
                if a.applies(cell_key, member_of(key)):
                    out[key] = SliceSla(
                        key,
                        a.max_loss_rate if a.max_loss_rate is not None else base.loss_ceiling,
                        a.max_delay_ms if a.max_delay_ms is not None else base.p99_ceiling_ms,
                        a.priority if a.priority is not None else base.priority,
                        None if a.gua_throughput_kbps is None else a.gua_throughput_kbps / 1000.0,
                    )
        return out

    def guard_policy(self, cell_key: str) -> GuardrailPolicy:
        return merge(from_a1(b) for b in self.a1_guards if applies_to(b, cell_key))

    async def refresh_policies(self, http: httpx.AsyncClient) -> None:
        slas: list[A1Sla] = []
        guards: list[dict[str, Any]] = []
        for type_id in (SLA_TYPE, GUARD_TYPE):
            r = await http.get(f"/A1-P/v2/policytypes/{type_id}/policies")
            r.raise_for_status()
            for pid in r.json():
                body = (await http.get(f"/A1-P/v2/policytypes/{type_id}/policies/{pid}")).json()
                if type_id == SLA_TYPE:
                    slas.append(sla_from_a1(body, pid))
                else:
                    guards.append(body)
        self.a1_slas, self.a1_guards = slas, guards

    async def refresh_plan(self, _: str | None = None) -> None:
        """Load the rApp's plan (on start, on each ``slice_plan`` notification); a bad plan is refused whole and
        the one in force stays."""
        raw = (await self.sdl.get(self.s.plan_namespace, [self.s.plan_key])).get(self.s.plan_key)
        try:
            plan = decode_plan(raw)
        except ValidationError as exc:
            self.plan_errors += 1
            log.warning("rApp plan refused; keeping the one in force", extra={"error": str(exc)})
            return
        if plan != self.plan:
            log.info("rApp plan loaded", extra={"plan": plan.plan_id, "version": plan.version})
        self.plan = plan

    def law(self) -> dict[str, Any]:
        """The law as it runs (default guardrail scope): what the rApp's twin must roll out to match it."""
        policy = self.guard_policy("*")
        step = max(1, min(self.params.max_step_pct, policy.max_step_pp, policy.high_step_pp - 1))
        return {"allocator": {**asdict(self.params), "max_step_pct": step},
                "controlPeriodMs": self.s.control_period_ms,
                "slices": [d.model_dump() for d in self.s.slices]}

    async def publish_law(self) -> None:
        try:
            await self.sdl.set(self.s.sdl_namespace, {"law": json.dumps(self.law(), sort_keys=True).encode()})
        except Exception as exc:  # SDL down: the next A1 change or restart publishes it again
            self.sdl_down(f"law write failed: {exc}")

    async def refresh_a1(self, _: str | None = None) -> None:
        """Reload the A1 policies (on start, on each policy-service notification)."""
        if self.http is None:
            return
        try:
            await self.refresh_policies(self.http)
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            log.warning("A1 policy refresh failed; keeping the last ones", extra={"error": str(exc)})
            return
        self.a1_version += 1
        await self.publish_law()

    # ------------------------------------------------------------------ state in SDL
    async def load_state(self, cell_key: str) -> CellState:
        if cell_key in self.cells:
            return self.cells[cell_key]
        st = CellState(cell_key)
        try:
            raw = (await self.sdl.get(self.s.sdl_namespace, [state_key(cell_key)])).get(state_key(cell_key))
            if raw:
                st = CellState.decode(raw)
                self.m.restored_cells.inc()
        except Exception as exc:  # SDL down: start fresh, keep deciding
            self.sdl_down(f"read failed: {exc}")
            log.warning("state load failed", extra={"cell": cell_key, "error": str(exc)})
        self.cells[cell_key] = st
        self.book.load(cell_key, st.previous_min, st.sent, st.sent_at_s)
        return st

    async def flush_state(self) -> None:
        """Write the dirty cells; on failure they stay dirty and ``sdl`` goes not ready (the heartbeat retries)."""
        batch = set(self.dirty)
        self.dirty -= batch  # a cell changed during the write is dirty again
        try:
            if batch:
                await self.sdl.set(self.s.sdl_namespace,
                                   {state_key(k): self.cells[k].encode() for k in batch if k in self.cells})
        except Exception as exc:
            self.dirty |= batch
            self.sdl_down(f"write failed: {exc}")
            return
        self.sdl_ok = True
        self.health.set("sdl", True, "ok")

    def sdl_down(self, detail: str) -> None:
        self.m.sdl_errors.inc()
        self.sdl_ok = False
        self.health.set("sdl", False, detail)

    # ------------------------------------------------------------------ the decision rounds
    async def handle(self, node: e2ap_pb2.E2NodeInfo, ind: e2ap_pb2.RicIndication) -> None:
        """One indication alone (a round of one); raises its first cell's error."""
        errors = await self.handle_round([(node, ind)])
        if errors:
            raise next(iter(errors.values()))

    async def handle_round(self, items: list[tuple[e2ap_pb2.E2NodeInfo, e2ap_pb2.RicIndication]]
                           ) -> dict[str, BaseException]:
        """Every cell of ``items`` (indications of distinct nodes) decided in one batched call per simulated time
        (``decide_round``); then each cell's control is sent, concurrently across cells. Returns the first error
        of each node whose cells failed (the other nodes' cells are handled all the same)."""
        prepared: list[_Prepared] = []
        errors: dict[str, BaseException] = {}
        for node, ind in items:
            table = measurements.kpm_table(ind.kpm)
            now_ms = ind.header.sim_time_ms
            for cell in node.cells:
                try:
                    prepared.append(await self._prepare(node, cell, table, ind, now_ms))
                except Exception as exc:
                    self.handled += 1
                    errors.setdefault(node.node_id, exc)
        by_time: dict[int, list[_Prepared]] = {}
        for pr in prepared:
            by_time.setdefault(pr.now_ms, []).append(pr)
        for now_ms, group in by_time.items():
            t0 = time.perf_counter()
            try:
                rnd = decide_round(self.book, [pr.inp for pr in group], now_ms / 1000.0, self.params)
            except Exception as exc:
                self.handled += len(group)
                for pr in group:
                    errors.setdefault(pr.node.node_id, exc)
                continue
            self.m.decision_latency.observe(time.perf_counter() - t0)
            self.m.round_cells.observe(len(group))
            self.decisions += len(group)
            outcomes = await asyncio.gather(*(self._act(pr, rnd.decision(i)) for i, pr in enumerate(group)),
                                            return_exceptions=True)
            for pr, o in zip(group, outcomes, strict=True):
                if isinstance(o, BaseException):
                    errors.setdefault(pr.node.node_id, o)
        if self.sdl_ok:  # while SDL is down only the heartbeat retries: a hung Redis must not stall decisions
            await self.flush_state()
        return errors

    async def _prepare(self, node: e2ap_pb2.E2NodeInfo, cell: e2ap_pb2.CellInfo, table: measurements.KpmTable,
                       ind: e2ap_pb2.RicIndication, now_ms: int) -> _Prepared:
        ck = ids.cell_key(cell.cgi)
        st = await self.load_state(ck)
        if st.incarnation != ind.header.incarnation:
            if st.incarnation:  # the node restarted (seen live, or while this process was down)
                log.info("E2 node restarted: its ratios are sent again", extra={"cell": ck})
                self.pending.pop(ck, None)
                st.node_restarted(ind.header.incarnation)
                self.book.node_restarted(ck)
            st.incarnation = ind.header.incarnation
            self.dirty.add(ck)
        obs = observations(table, cell)
        self.check_effect(ck, now_ms, obs, float(cell.prb_count))
        plan = self.plan.cell_bounds(ck, now_ms)
        slas = self.plan.apply_slas(ck, now_ms, self.slas_for(ck))
        inp = RoundCell(ck, obs, slas, float(cell.prb_count), plan, self.guard_policy(ck))
        return _Prepared(node, cell, st, inp, now_ms)

    async def _act(self, pr: _Prepared, d: CellDecision) -> None:
        """Metrics, then the control (when the decision changed what is sent) and the cell's state."""
        try:
            await self._act_cell(pr, d)
        finally:
            self.handled += 1

    async def _act_cell(self, pr: _Prepared, d: CellDecision) -> None:
        node, cell, st, ck, now_s = pr.node, pr.cell, pr.state, pr.inp.cell_key, pr.now_ms / 1000.0
        for k, h in d.headroom.items():
            self.m.headroom.labels(ck, k).set(h)
        v = d.verdict
        if v.decision is Decision.DENY:
            for r in v.reasons:
                self.m.controls_denied.labels(r.code.value).inc()
            log.info("control denied", extra={"cell": ck, "reasons": [r.message for r in v.reasons]})
        elif v.decision is Decision.CLAMP:
            for r in v.reasons:
                self.m.controls_clamped.labels(r.code.value).inc()
            log.info("control clamped", extra={"cell": ck, "reasons": [r.message for r in v.reasons]})
        if d.sent is None or d.sent == st.sent:
            if d.sent is not None:
                st.previous_min = {k: r[1] for k, r in d.sent.items()}
                if ck in self.cells:
                    self.book.record_cell(ck, d.sent, now_s, applied=False)
            return
        req = e2ap_pb2.RicControlRequest(
            node_id=node.node_id, slice_quota=rc_pb2.SliceQuotaControl(cells=[quota_cell(cell, d.sent)]))
        try:
            ack = await self.client.control(req)
        except E2Failure as exc:
            self.m.controls_failed.labels(exc.value).inc()
            log.warning("control refused", extra={"cell": ck, "error": str(exc)})
            return
        self.m.controls_sent.inc()
        self.sent += 1
        if not echo_matches(d.sent, echoed(ack)):
            self.m.controls_not_effective.labels("echo").inc()
            self.m.not_effective.labels(ck).set(1)
        else:
            self.pending[ck] = PendingEffect(d.sent, int(ack.effective_sim_time_ms))
        self.report_applied(v.action, now_s)
        st.sent, st.sent_at_s = dict(d.sent), now_s
        st.previous_min = {k: r[1] for k, r in d.sent.items()}
        if ck in self.cells:  # not released to another replica meanwhile
            self.book.record_cell(ck, d.sent, now_s, applied=True)
        self.dirty.add(ck)

    def report_applied(self, action: Action, now_s: float) -> None:
        """Tell the policy service's audit that ``action`` reached the network (after the E2 ack), in the
        background: the decision loop never waits on the policy service."""
        if self.http is None or len(self.reports) >= MAX_PENDING_REPORTS:
            if self.http is not None:
                self.m.applied_reports.labels("dropped").inc()
            return
        task = asyncio.create_task(self._post_applied(self.http, action, now_s))
        self.reports.add(task)
        task.add_done_callback(self.reports.discard)

    async def _post_applied(self, http: httpx.AsyncClient, action: Action, now_s: float) -> None:
        body = {"action": action_to_json(action), "at": now_s, "reason": f"{self.instance}: E2 control acknowledged"}
        try:
            r = await http.post("/guardrail/v1/applied", json=body)
            r.raise_for_status()
        except httpx.HTTPError as exc:
            self.m.applied_reports.labels("failed").inc()
            log.warning("applied report failed", extra={"cell": action.cell_id, "error": str(exc)})
            return
        self.m.applied_reports.labels("ok").inc()

    def check_effect(self, ck: str, now_ms: int, obs: list[SliceObservation], n_prb: float) -> None:
        pend = self.pending.get(ck)
        if pend is None:
            return
        res = check_report(pend, now_ms, obs, n_prb, self.s.effect_reports, self.s.effect_tolerance_pct)
        if res.status == "effective":
            self.pending.pop(ck)
            self.m.not_effective.labels(ck).set(0)
        elif res.status == "not_effective":
            self.pending.pop(ck)
            self.m.controls_not_effective.labels(res.check).inc()
            self.m.not_effective.labels(ck).set(1)
            log.warning("control did not take effect", extra={"cell": ck, "check": res.check})
        elif res.pending is not None:
            self.pending[ck] = res.pending

    async def node_loop(self, node: e2ap_pb2.E2NodeInfo) -> None:
        """Reads one node's indications; each is decided in the next round with every other node's that is
        waiting (:meth:`decider`), and the next is read once it is handled."""
        stream = self.client.subscribe(node.node_id, e2ap_pb2.REPORT_STYLE_KPM, self.s.control_period_ms)
        try:
            async for ind in stream:
                self._ensure_decider()
                done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                await self.rounds.put((node, ind, time.perf_counter(), done))
                await done
        finally:
            with contextlib.suppress(Exception):
                await stream.aclose()

    def _ensure_decider(self) -> None:
        if self._decider is None or self._decider.done():
            self._decider = asyncio.create_task(self.decider())

    async def decider(self) -> None:
        """The decision rounds: take every indication waiting (at least one), decide them together, answer each
        node loop (with its cell's error, if any)."""
        while True:
            batch = [await self.rounds.get()]
            while not self.rounds.empty():
                batch.append(self.rounds.get_nowait())
            by_node: dict[str, list[_Queued]] = {}
            for item in batch:  # one indication per node per round; a later one waits for the next round
                if not item[3].done():  # its node loop is gone (rebalanced away, stopped)
                    by_node.setdefault(item[0].node_id, []).append(item)
            now_round = [items[0] for items in by_node.values()]
            for items in by_node.values():
                for later in items[1:]:
                    self.rounds.put_nowait(later)
            if not now_round:
                continue
            try:
                errors = await self.handle_round([(node, ind) for node, ind, _, _ in now_round])
            except Exception as exc:  # a bug outside the per-cell guards: every node of the round sees it
                errors = {node.node_id: exc for node, _, _, _ in now_round}
            end = time.perf_counter()
            for node, _, queued_at, done in now_round:
                self.m.indication_latency.observe(end - queued_at)
                if done.done():
                    continue
                failed = errors.get(node.node_id)
                if failed is None:
                    done.set_result(None)
                else:
                    done.set_exception(failed)
            self.m.indications.inc(len(now_round))

    # ------------------------------------------------------------------ membership, discovery, policies
    async def heartbeat(self) -> None:
        ns, now = self.s.sdl_namespace, time.time()
        try:
            await self.sdl.set(ns, {f"member/{self.instance}": json.dumps({"seen": now}).encode()})
            if not self.sdl_ok:  # back after an outage, maybe empty (no persistence): write every cell again
                self.dirty |= set(self.cells)
            found = await self.sdl.find_and_get(ns, "member/*")
            self.members = sorted(
                k.split("/", 1)[1] for k, v in found.items()
                if now - float(json.loads(v)["seen"]) <= self.s.shard.member_ttl_s
            ) or [self.instance]
            if self.instance not in self.members:
                self.members.append(self.instance)
        except Exception as exc:  # SDL down: keep the last ring, keep deciding
            self.sdl_down(f"unreachable: {exc}")
            return
        await self.flush_state()
        self.m.replicas.set(len(self.members))

    async def rebalance(self) -> None:
        nodes = {n.node_id: n for n in await self.client.list_nodes()}
        mine = set(HashRing(self.members, self.s.shard.vnodes).assigned(nodes, self.instance))
        for nid in self.node_tasks.sync({nid: nodes[nid] for nid in mine}):
            for cell in nodes[nid].cells if nid in nodes else []:
                ck = ids.cell_key(cell.cgi)
                self.cells.pop(ck, None)  # the next owner restores it from SDL
                self.book.forget(ck)
        self.m.assigned_nodes.set(len(self.node_tasks))
        self.health.set("e2", True, f"{len(self.node_tasks)} of {len(nodes)} nodes")

    async def run(self, stop: asyncio.Event) -> None:
        http: httpx.AsyncClient | None = None
        if self.s.policy.url:
            token = self.s.policy.token
            headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}
            http = httpx.AsyncClient(base_url=self.s.policy.url, headers=headers, timeout=self.s.policy.timeout_s)
        self.http = http
        await self.publish_law()
        watchers = [asyncio.create_task(follow(self.sdl, self.s.plan_namespace, [PLAN_CHANNEL], self.refresh_plan,
                                               stop))]
        if http is not None:
            watchers.append(asyncio.create_task(follow(self.sdl, self.s.policy.a1_namespace, [A1_CHANNEL],
                                                       self.refresh_a1, stop)))
        last_nodes = 0.0
        try:
            while not stop.is_set():
                now = time.monotonic()
                await self.heartbeat()
                if now - last_nodes >= self.s.node_refresh_s or self.node_tasks.any_done():
                    try:
                        await self.rebalance()
                        last_nodes = now
                    except E2Failure as exc:
                        self.health.set("e2", False, str(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.s.shard.heartbeat_s)
        finally:
            for w in watchers:
                w.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
            await self.node_tasks.close()
            if self._decider is not None:
                self._decider.cancel()
                await asyncio.gather(self._decider, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self.flush_state()
                await self.sdl.delete(self.s.sdl_namespace, [f"member/{self.instance}"])
            if self.reports:
                await asyncio.wait(set(self.reports), timeout=self.s.policy.timeout_s)
            self.http = None
            if http is not None:
                await http.aclose()
