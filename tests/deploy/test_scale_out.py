"""Scale-out of the slice scheduler: 3 replicas (separate processes) share a 300-cell testbed through Redis.

Real processes on loopback: redis-server, the policy service (its audit tells which replica controlled which
cell: every acknowledged control is reported with the replica's own token), the testbed serving a 300-cell grid
city (one E2 node per cell) and three ``python -m xapps.slice_scheduler`` replicas. Asserted: every node is owned
by exactly one replica (the consistent-hash ring over the live members), each replica sends controls only to its
own nodes, and after one replica is killed (SIGKILL: no goodbye) the other two take its nodes over.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from nextric.e2 import ids
from nextric.e2.client import E2Client
from nextric.e2.settings import E2ClientSettings
from nextric.e2.v1 import e2ap_pb2
from nextric.testing.redis_proc import start_redis
from tests.policy.service_proc import start_service
from tests.xapps.slice_scheduler.procs import start, stop
from xapps.slice_scheduler.sharding import HashRing

#: generated: example and short tokens are refused at start-up
OP_TOKEN, XAPP_TOKEN = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
N_CELLS = 300
REPLICAS = ["replica-0", "replica-1", "replica-2"]
VNODES = 64
TTL_S = 10.0  # a replica silent this long leaves the ring (a loaded 2-core host stalls loops for seconds)
PERIOD_MS = 5000  # KPM report = control period (simulated); at 1x real time: 60 reports/s over 300 nodes
pytestmark = pytest.mark.slow


def grid_city(n_cells: int, ues_per_cell: int = 6) -> dict[str, Any]:
    """A square grid of ``n_cells`` 20 MHz cells (400 m apart), the three PoC slices, one aggregation node per
    10 cells (the shape of bench/testbed_speed.py's synthetic cities, as a scenario document)."""
    side = -(-n_cells // int(n_cells**0.5))
    size = side * 400.0
    n_agg = max(1, n_cells // 10)
    nodes = [{"name": "HUB", "position": [size / 2, size / 2], "hub": True}]
    nodes += [{"name": f"A{i}", "position": [size * (i + 0.5) / n_agg, size / 3]} for i in range(n_agg)]
    links = [{"src": f"A{i}", "dst": "HUB", "capacity_mbps": 20000} for i in range(n_agg)]
    cells = [{"cell_id": i + 1, "pci": i % 1008, "position": [200 + 400 * (i % side), 200 + 400 * (i // side)],
              "agg_node": f"A{min(i // 10, n_agg - 1)}"} for i in range(n_cells)]
    return {
        "name": f"grid{n_cells}", "area": {"width_m": size, "height_m": size},
        "timing": {"fast_step_s": 1.0, "fast_steps_per_slow": 15, "slow_steps_per_horizon": 12},
        "slices": [{"name": "eMBB", "sst": 1, "sd": "000001", "packet_bytes": 1200, "base_delay_ms": 8,
                    "discard_ms": 600, "sla_loss": 0.25},
                   {"name": "URLLC", "sst": 2, "sd": "000002", "packet_bytes": 200, "base_delay_ms": 2,
                    "discard_ms": 300, "sla_loss": 0.1, "sla_p99_ms": 20},
                   {"name": "FWA", "sst": 1, "sd": "000003", "packet_bytes": 1400, "base_delay_ms": 8,
                    "discard_ms": 600, "sla_loss": 0.2}],
        "radio": {"n_candidate_cells": 6},
        "cell_cfg": {"band": 78, "dl_arfcn": 630000, "channel_bandwidth_MHz": 20, "common_scs": 30},
        "cells": cells,
        "zones": [{"name": "h", "kind": "hospital", "center": [size / 4, size / 4], "radius_m": 600}],
        "ue_groups": [{"name": "e", "slice": "eMBB", "count": 3 * n_cells, "rate_mbps": 12.0},
                      {"name": "u", "slice": "URLLC", "count": 1 * n_cells, "rate_mbps": 2.0},
                      {"name": "f", "slice": "FWA", "count": (ues_per_cell - 4) * n_cells, "mobility": "static",
                       "rate_mbps": 12.0}],
        "transport": {"nodes": nodes, "links": links, "failure": {"prob_per_s": 0.0, "mttr_s": 60}},
        "shocks": {"hotspot": {"zone": "h", "rate_per_slow_step": 1.0, "radius_m": 500, "intensity": [2, 3, 1],
                               "duration_s": 30}},
    }


def metric(text: str, name: str) -> float:
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " ")
               or line.startswith(name + "{"))


def wait_for(what: str, condition: Callable[[], bool], timeout_s: float, seen: Any = None) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout_s} s (last seen: {seen})")
        time.sleep(0.2)


def test_three_replicas_share_300_cells_and_take_over(tmp_path: Path) -> None:
    scenario = tmp_path / "grid300.yaml"
    scenario.write_text(yaml.safe_dump(grid_city(N_CELLS)))
    redis = start_redis(tmp_path / "redis")
    policy = start_service(tmp_path / "policy", [{"name": "ops", "token": OP_TOKEN, "roles": ["operator"]}]
                           + [{"name": r, "token": f"{r}-{XAPP_TOKEN}", "roles": ["xapp"]} for r in REPLICAS],
                           backend="memory")
    procs: dict[str, Any] = {}
    started = time.monotonic()
    try:
        tb, tb_ports = start("testbed.serve", {
            "NEXTRIC_TESTBED_SCENARIO": str(scenario), "NEXTRIC_TESTBED_SHOCKS": "hotspot-ID",
            "NEXTRIC_TESTBED_SEED": "3", "NEXTRIC_TESTBED_SPEEDUP": "1", "NEXTRIC_TESTBED_LOG__LEVEL": "WARNING"},
            tmp_path / "testbed.log", timeout_s=80)
        procs["testbed"] = tb
        assert tb_ports["nodes"] == N_CELLS

        async def nodes() -> dict[str, str]:
            settings = E2ClientSettings(target=f"127.0.0.1:{tb_ports['e2_port']}", max_reconnect_attempts=3)
            async with E2Client(settings) as client:
                return {ids.cell_key(n.cells[0].cgi): n.node_id for n in await client.list_nodes()}

        node_of = asyncio.run(nodes())

        async def sim_now_s() -> float:
            """The testbed's simulated clock, read off a KPM indication (controls are audited with it)."""
            settings = E2ClientSettings(target=f"127.0.0.1:{tb_ports['e2_port']}", max_reconnect_attempts=3,
                                        ric_requestor_id=4242)  # not the xApps' id: their subscriptions stay theirs
            async with E2Client(settings) as client:
                stream = client.subscribe(next(iter(node_of.values())), e2ap_pb2.REPORT_STYLE_KPM, 1000)
                try:
                    async for ind in stream:
                        return ind.header.sim_time_ms / 1000.0
                finally:
                    await stream.aclose()
            raise AssertionError("no KPM indication")
        assert len(set(node_of.values())) == N_CELLS

        def launch(r: str) -> tuple[Any, dict[str, Any]]:
            return start("xapps.slice_scheduler", {
                "NEXTRIC_XAPP_SLICE_E2__TARGET": f"127.0.0.1:{tb_ports['e2_port']}",
                "NEXTRIC_XAPP_SLICE_SDL__BACKEND": "redis", "NEXTRIC_XAPP_SLICE_SDL__REDIS_URL": redis.url,
                "NEXTRIC_XAPP_SLICE_POLICY__URL": policy.url, "NEXTRIC_XAPP_SLICE_POLICY__TOKEN": f"{r}-{XAPP_TOKEN}",
                "NEXTRIC_XAPP_SLICE_SHARD__INSTANCE_ID": r, "NEXTRIC_XAPP_SLICE_SHARD__HEARTBEAT_S": "0.5",
                "NEXTRIC_XAPP_SLICE_SHARD__MEMBER_TTL_S": str(TTL_S), "NEXTRIC_XAPP_SLICE_SHARD__VNODES": str(VNODES),
                "NEXTRIC_XAPP_SLICE_NODE_REFRESH_S": "1", "NEXTRIC_XAPP_SLICE_CONTROL_PERIOD_MS": str(PERIOD_MS),
                "NEXTRIC_XAPP_SLICE_LOG__LEVEL": "WARNING"}, tmp_path / f"{r}.log")

        ports: dict[str, int] = {}
        with ThreadPoolExecutor(len(REPLICAS)) as pool:  # started together, as a Deployment's pods are
            for r, (proc, info) in zip(REPLICAS, pool.map(launch, REPLICAS), strict=True):
                procs[r], ports[r] = proc, info["http_port"]

        def scrape(r: str) -> str:
            return httpx.get(f"http://127.0.0.1:{ports[r]}/metrics", timeout=20).text

        seen: dict[str, Any] = {}

        def settled(live: list[str]) -> bool:
            ring = HashRing(live, VNODES)
            for r in live:
                try:
                    text = scrape(r)
                except httpx.TimeoutException:  # busy (a replica briefly owns every node at start-up)
                    return False
                want = len(ring.assigned(node_of.values(), r))
                seen[r] = (metric(text, "nextric_slice_scheduler_replicas"),
                           metric(text, "nextric_slice_scheduler_assigned_nodes"), want)
                if metric(text, "nextric_slice_scheduler_replicas") != len(live) or \
                        metric(text, "nextric_slice_scheduler_assigned_nodes") != want:
                    return False
            return True

        def controls(since: datetime) -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = []
            after: str | None = None
            while True:
                params: dict[str, Any] = {"kind": "applied", "since": since.isoformat(), "limit": 1000}
                if after:
                    params["after"] = after
                page = httpx.get(f"{policy.url}/audit/v1/records", params=params,
                                 headers={"Authorization": f"Bearer {OP_TOKEN}"}, timeout=10).json()
                items += page["items"]
                after = page.get("next")
                if not after:
                    return items

        def assert_own_nodes_only(live: list[str], observe_s: float) -> dict[str, int]:
            """Controls decided (simulated time) from now on, over ``observe_s``, went to the deciders' own nodes."""
            since, sim_since = datetime.now(UTC), asyncio.run(sim_now_s())
            time.sleep(observe_s)
            assert settled(live), f"membership changed during the window: {seen}"
            ring = HashRing(live, VNODES)
            per: dict[str, int] = dict.fromkeys(live, 0)
            wrong: list[str] = []
            for rec in controls(since):
                if rec["data"]["at"] <= sim_since:
                    continue  # decided before the window, reported late (reports are posted in the background)
                owner = ring.owner(node_of[rec["subject"]])
                if rec["actor"] != owner or not rec["why"].startswith(f"{owner}:"):
                    wrong.append(f"{rec['actor']} controlled {rec['subject']} (owner {owner}) at {rec['data']['at']} s")
                per[rec["actor"]] = per.get(rec["actor"], 0) + 1
            assert wrong == [], f"{len(wrong)} of {sum(per.values())} controls (window from {sim_since} s): {wrong}"
            return per

        # 1. three replicas: the ring splits the 300 nodes, every node owned by exactly one replica
        wait_for("3 replicas settled", lambda: settled(REPLICAS), 60, seen)
        time.sleep(PERIOD_MS / 1000.0)  # start-up transients (each replica first saw fewer members) play out
        wait_for("3 replicas still settled", lambda: settled(REPLICAS), 30, seen)
        ring3 = HashRing(REPLICAS, VNODES)
        shares = {r: set(ring3.assigned(node_of.values(), r)) for r in REPLICAS}
        assert set().union(*shares.values()) == set(node_of.values())
        assert sum(len(s) for s in shares.values()) == N_CELLS  # disjoint
        assert all(60 <= len(s) <= 140 for s in shares.values()), {r: len(s) for r, s in shares.items()}
        per3 = assert_own_nodes_only(REPLICAS, 12.0)
        assert sum(per3.values()) > 0, "no controls were sent in the observation window"

        # 2. kill one replica: the other two take its nodes over (membership expires after the TTL)
        victim, survivors = REPLICAS[1], [REPLICAS[0], REPLICAS[2]]
        procs.pop(victim).kill()
        wait_for("2 replicas settled", lambda: settled(survivors), 40, seen)
        ring2 = HashRing(survivors, VNODES)
        taken = {r: set(ring2.assigned(node_of.values(), r)) - shares[r] for r in survivors}
        assert set().union(*taken.values()) == shares[victim]  # only the victim's nodes moved
        per2 = assert_own_nodes_only(survivors, 12.0)
        assert sum(per2.values()) > 0
        # a taken-over cell is restored when its first indication reaches its new owner, within the window above
        restored = sum(metric(scrape(r), "nextric_slice_scheduler_restored_cells_total") for r in survivors)
        print(json.dumps({"wall_s": round(time.monotonic() - started, 1),
                          "shares": {r: len(s) for r, s in shares.items()}, "controls_3": per3, "controls_2": per2,
                          "taken_over": {r: len(s) for r, s in taken.items()},
                          "restored_cells": restored}))
        assert restored > 0, "the new owners restore the taken-over cells' state from SDL"
    finally:
        for p in procs.values():
            stop(p)
        policy.stop()
        redis.stop()
