"""Integration: testbed + policy service + slice scheduler as real processes on loopback, closing the loop.

Scenario: the RAN-limited PoC city with hospital hotspots (URLLC demand x2.5 near the hospital). A static
uniform 1/3 split breaks the URLLC SLA, both its loss ceiling (10 %) and its delay ceiling (p99 20 ms); the xApp,
deciding every simulated second, keeps both. The delay is read from the KPM reports as a RIC sees it: the
``DRB.RlcSduDelayDl.P99`` of each (cell, period), weighted by the URLLC volume offered in it; the SLA is kept when
99 % of the URLLC volume went through periods whose p99 is within 20 ms.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

import httpx
import numpy as np

from nextric.e2 import ids, measurements
from nextric.e2.client import E2Client
from nextric.e2.settings import E2ClientSettings
from nextric.e2.v1 import e2ap_pb2
from testbed.core.engine import Emulator
from testbed.core.scenario import load_scenario
from testbed.core.scheduler import shares_to_ratios
from testbed.core.shocks import ShockRegime
from testbed.policies import uniform_shares
from tests.policy.service_proc import start_service
from tests.xapps.slice_scheduler.procs import SCENARIO, start, stop

OP_TOKEN = secrets.token_urlsafe(24)  #: generated: example and short tokens are refused at start-up
SEED, STEPS, SHOCKS, SPEEDUP = 6, 180, "hotspot-ID", 10
WARMUP = 60  # simulated s before the KPIs count (the xApp process starts while the testbed already runs)
SETTLE_S, MIN_WINDOW_S = 20.0, 90.0  # after a late first control: its settling time, and the shortest window judged
URLLC = "2-000002"


def weighted_p99(samples: list[tuple[float, float]]) -> float:
    """The per-report p99 below which 99 % of the volume lies: samples are (p99 ms, offered Mbit/s)."""
    if not samples:
        return 0.0
    p = np.array([x for x, _ in samples])
    w = np.array([v for _, v in samples])
    order = np.argsort(p)
    cum = np.cumsum(w[order]) / max(w.sum(), 1e-12)
    return float(p[order][min(int(np.searchsorted(cum, 0.99)), len(p) - 1)])


def static_uniform_urllc() -> tuple[float, float]:
    """URLLC loss and volume-weighted per-report p99 (ms) under the static uniform split, same seed."""
    sc = load_scenario(str(SCENARIO))
    emu = Emulator(sc, ShockRegime.parse(SHOCKS), seed=SEED)
    prb, tn = uniform_shares(sc)
    emu.set_allocation(shares_to_ratios(prb, "isolated"), tn)
    lost = off = 0.0
    delays: list[tuple[float, float]] = []
    for t in range(STEPS):
        emu.step_fast()
        report = emu.read_kpm()
        if t < WARMUP:
            continue
        for c in report.cells:
            s = c.slices[1]
            lost += s.packet_loss * s.offered_mbps
            off += s.offered_mbps
            delays.append((s.p99_delay_ms, s.offered_mbps))
    return lost / off, weighted_p99(delays)


async def observe_urllc(e2_port: int, deadline_s: float) -> list[tuple[float, float, float, float]]:
    """Subscribe to every node's KPM as a second RIC client until the testbed stops: per URLLC report after the
    warm-up, (simulated s, offered Mbit/s, loss fraction, p99 ms)."""
    rows: list[tuple[float, float, float, float]] = []
    # its own RIC requestor id: with the xApp's (the default), a subscription with the same request id would
    # take the xApp's stream over (E2AP names a subscription by node + RIC request id) and starve its loop
    async with E2Client(E2ClientSettings(target=f"127.0.0.1:{e2_port}", max_reconnect_attempts=3,
                                         backoff_initial_s=0.05, backoff_max_s=0.2,
                                         ric_requestor_id=4242)) as client:
        nodes = await client.list_nodes()

        async def one(node: e2ap_pb2.E2NodeInfo) -> None:
            async for ind in client.subscribe(node.node_id, e2ap_pb2.REPORT_STYLE_KPM, 1000):
                if ind.header.sim_time_ms <= WARMUP * 1000:
                    continue
                row = measurements.kpm_table(ind.kpm).get((ids.cell_key(node.cells[0].cgi), URLLC), {})
                rows.append((ind.header.sim_time_ms / 1000.0, row.get(measurements.OFFERED_DL, 0.0),
                             row.get(measurements.LOSS_DL, 0.0), row.get(measurements.DELAY_DL_P99, 0.0)))

        tasks = [asyncio.create_task(one(n)) for n in nodes]
        await asyncio.wait(tasks, timeout=deadline_s)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return rows


def first_control_s(policy_url: str) -> float:
    """Simulated time of the xApp's first acknowledged control (its applied reports in the policy audit)."""
    items = httpx.get(f"{policy_url}/audit/v1/records", params={"kind": "applied", "limit": 1000},
                      headers={"Authorization": f"Bearer {OP_TOKEN}"}, timeout=10).json()["items"]
    return min((float(r["data"]["at"]) for r in items), default=float("inf"))


def test_closed_loop_keeps_the_urllc_sla(tmp_path: Path) -> None:
    static_loss, static_p99 = static_uniform_urllc()
    assert static_loss > 0.10, f"scenario must break the URLLC loss ceiling under the uniform split: {static_loss:.3f}"
    assert static_p99 > 20.0, f"... and its delay ceiling: {static_p99:.1f} ms"

    token = secrets.token_urlsafe(24)  # generated: weak tokens are refused
    policy = start_service(tmp_path / "policy", [{"name": "ops", "token": OP_TOKEN, "roles": ["operator"]},
                                                 {"name": "slice", "token": token, "roles": ["xapp"]}],
                           backend="memory")
    procs = []
    try:
        sla = {"scope": {"sliceId": {"plmnId": {"mcc": "001", "mnc": "01"}, "sst": 2, "sd": "000002"}},
               "sliceSlaObjectives": {"maxPacketDelayMs": 20.0, "maxPacketLossRate": 0.1, "priorityLevel": 200}}
        r = httpx.put(f"{policy.url}/A1-P/v2/policytypes/ORAN_SliceSLATarget_1.0.0/policies/urllc",
                      json=sla, headers={"Authorization": f"Bearer {OP_TOKEN}"})
        assert r.status_code in (200, 201), r.text
        tb, tb_ports = start("testbed.serve", {
            "NEXTRIC_TESTBED_SCENARIO": str(SCENARIO), "NEXTRIC_TESTBED_SHOCKS": SHOCKS,
            "NEXTRIC_TESTBED_SEED": str(SEED), "NEXTRIC_TESTBED_SPEEDUP": str(SPEEDUP),
            "NEXTRIC_TESTBED_STEPS": str(STEPS), "NEXTRIC_TESTBED_LOG__LEVEL": "WARNING"}, tmp_path / "testbed.log")
        procs.append(tb)
        xa, xa_ports = start("xapps.slice_scheduler", {
            "NEXTRIC_XAPP_SLICE_E2__TARGET": f"127.0.0.1:{tb_ports['e2_port']}",
            "NEXTRIC_XAPP_SLICE_POLICY__URL": policy.url, "NEXTRIC_XAPP_SLICE_POLICY__TOKEN": token,
            "NEXTRIC_XAPP_SLICE_LOG__LEVEL": "WARNING"}, tmp_path / "xapp.log")
        procs.append(xa)
        rows = asyncio.run(observe_urllc(tb_ports["e2_port"], STEPS / SPEEDUP + 30))
        first = first_control_s(policy.url)
        metrics = httpx.get(f"http://127.0.0.1:{xa_ports['http_port']}/metrics").text
        assert httpx.get(f"http://127.0.0.1:{xa_ports['http_port']}/ric/v1/health/alive").status_code == 200
    finally:
        for p in procs:
            stop(p)
        policy.stop()
    sent = sum(float(line.split()[-1]) for line in metrics.splitlines()
               if line.startswith("nextric_slice_scheduler_controls_sent_total"))
    assert len(rows) > (STEPS - WARMUP) * 5, f"only {len(rows)} KPM reports observed"
    # judged from the warm-up on, or from SETTLE_S after the xApp's first control if its process started late on
    # a loaded host (the loop cannot act before it runs), over at least MIN_WINDOW_S of simulated time
    since = max(float(WARMUP), first + SETTLE_S)
    assert STEPS - since >= MIN_WINDOW_S, f"the xApp's first control came at {first:.0f} s simulated"
    kept = [r for r in rows if r[0] > since]
    off = sum(r[1] for r in kept)
    loss = sum(r[1] * r[2] for r in kept) / max(off, 1e-9)
    p99 = weighted_p99([(r[3], r[1]) for r in kept])
    assert sent > 10, "the xApp must have sent controls"
    summary = [ln for ln in metrics.splitlines() if "slice_scheduler_controls" in ln and not ln.startswith("#")]
    assert loss < 0.10 < static_loss, f"URLLC loss closed loop {loss:.3f} vs static {static_loss:.3f}: {summary}"
    assert p99 < 20.0 < static_p99, f"URLLC p99 closed loop {p99:.1f} ms vs static {static_p99:.1f} ms: {summary}"
    print(json.dumps({"urllc_loss_loop": loss, "urllc_loss_static": static_loss, "urllc_p99_ms_loop": p99,
                      "urllc_p99_ms_static": static_p99, "controls": sent, "first_control_s": first,
                      "judged_from_s": since}))
