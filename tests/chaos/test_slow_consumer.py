"""A client that opens 2,000 PILOT subscriptions in a burst and never reads them, against the real testbed and the
real slice scheduler (processes): the scheduler keeps at least 90 % of its control rate and the testbed's resident
memory stays within 2x of what it was before the attack. The server's defences are the deployed defaults: per-node
and per-client subscription limits, a bounded outbox per stream, slow consumers cancelled with RESOURCE_EXHAUSTED."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import grpc
import pytest

from nextric.e2 import ids
from nextric.e2.v1 import e2ap_pb2, e2ap_pb2_grpc
from tests.chaos.procs import metric_total, start_testbed
from tests.xapps.slice_scheduler.procs import start, stop

ATTACK_SUBSCRIPTIONS = 2_000
WINDOW_S = 8.0  #: the control rate is counted over this long, before and during the attack
CONTROLS = "nextric_slice_scheduler_controls_sent_total"
PILOT = e2ap_pb2.REPORT_STYLE_PILOT


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _controls(port: int) -> float:
    return metric_total(port, CONTROLS)


def _rate(port: int, window_s: float) -> float:
    c0, t0 = _controls(port), time.monotonic()
    time.sleep(window_s)
    return (_controls(port) - c0) / (time.monotonic() - t0)


async def _attack(target: str, hold_s: float) -> dict[str, int]:
    """Open the subscriptions round-robin over the nodes, never read them, hold them ``hold_s``, then leave; the
    status each call ended with (or ``open``)."""
    outcome: dict[str, int] = {}
    async with grpc.aio.insecure_channel(target) as channel:
        stub = e2ap_pb2_grpc.E2NodeStub(channel)
        nodes = (await stub.ListNodes(e2ap_pb2.ListNodesRequest(), timeout=10)).nodes
        calls = [stub.Subscribe(e2ap_pb2.RicSubscriptionRequest(
            node_id=nodes[i % len(nodes)].node_id, ran_function_id=ids.RAN_FUNCTION_PILOT, report_style=PILOT,
            report_period_ms=10, ric_request_id=e2ap_pb2.RicRequestId(ric_requestor_id=4000, ric_instance_id=i + 1)))
            for i in range(ATTACK_SUBSCRIPTIONS)]
        await asyncio.sleep(hold_s)
        for call in calls:
            if call.done():
                code = (await call.code()).name
            else:
                code = "open"
                call.cancel()
            outcome[code] = outcome.get(code, 0) + 1
    return outcome


@pytest.mark.timeout(240)
def test_a_stalled_subscriber_storm_leaves_the_scheduler_its_control_rate(tmp_path: Path) -> None:
    procs = []
    try:
        tb, tb_ports = start_testbed(tmp_path / "testbed.log", seed=5, speedup=10)
        procs.append(tb)
        target = f"127.0.0.1:{tb_ports['e2_port']}"
        xa, xa_ports = start("xapps.slice_scheduler", {
            "NEXTRIC_XAPP_SLICE_E2__TARGET": target, "NEXTRIC_XAPP_SLICE_HTTP__PORT": "0",
            "NEXTRIC_XAPP_SLICE_LOG__LEVEL": "WARNING"}, tmp_path / "xapp.log")
        procs.append(xa)
        port = xa_ports["http_port"]
        deadline = time.monotonic() + 60
        while _controls(port) < 5:
            assert time.monotonic() < deadline, "the scheduler sends no controls"
            time.sleep(0.2)
        baseline_rate = _rate(port, WINDOW_S)
        baseline_rss = _rss_bytes(tb.pid)
        peak_rss = baseline_rss
        loop = asyncio.new_event_loop()
        attack = loop.run_in_executor(None, lambda: asyncio.run(_attack(target, WINDOW_S + 2)))
        time.sleep(1.0)  # the burst is open
        c0, t0 = _controls(port), time.monotonic()
        while time.monotonic() - t0 < WINDOW_S:
            peak_rss = max(peak_rss, _rss_bytes(tb.pid))
            time.sleep(0.25)
        attacked_rate = (_controls(port) - c0) / (time.monotonic() - t0)
        outcome = loop.run_until_complete(attack)
        loop.close()
        with contextlib.suppress(Exception):
            peak_rss = max(peak_rss, _rss_bytes(tb.pid))
        assert tb.poll() is None, "the testbed died"
    finally:
        for p in procs:
            stop(p)
    print(f"controls/s {baseline_rate:.2f} -> {attacked_rate:.2f} under attack; testbed RSS "
          f"{baseline_rss / 2**20:.0f} -> peak {peak_rss / 2**20:.0f} MiB; the attack's calls: {outcome}")
    assert attacked_rate >= 0.9 * baseline_rate, f"control rate {attacked_rate:.2f}/s < 90 % of {baseline_rate:.2f}/s"
    assert peak_rss <= 2 * baseline_rss, f"testbed RSS {peak_rss} > 2 x {baseline_rss}"
