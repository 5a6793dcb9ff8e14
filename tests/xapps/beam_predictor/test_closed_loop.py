"""End to end: the testbed and the beam xApp as real processes on loopback. With the xApp, the cells serve more
traffic than with the testbed's own best-Set-B beam selection for the same seed (the same trajectory, computed
in-process without any control); cell throughput comes from the testbed's evaluation channel.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from testbed.core.engine import Emulator
from testbed.core.scenario import load_scenario
from testbed.core.shocks import ShockRegime
from tests.xapps.evaluation import run_to_step, served_mbps
from tests.xapps.slice_scheduler.procs import start, stop

SCENARIO, SHOCKS, SEED, SPEEDUP = "ran_limited_wide_b", "hotspot-ID", 11, 10  # wide Set B: the committed model
WARMUP, END = 60, 200  # sub-steps (1 s each): the window (WARMUP, END] is compared


def default_served_mbps() -> float:
    emu = Emulator(load_scenario(SCENARIO), ShockRegime.parse(SHOCKS), seed=SEED)
    for _ in range(END):
        emu.step_fast()
    served, _ = emu.cell_throughput(WARMUP, END)
    return float(served.sum())


async def served_with_xapp(port: int, deadline_s: float) -> float:
    async with run_to_step(port, END, deadline_s) as stub:
        return sum(await served_mbps(stub, WARMUP, END))


@pytest.mark.slow
def test_beam_xapp_raises_cell_throughput(tmp_path: Path) -> None:
    base = default_served_mbps()
    procs = []
    try:
        tb, tb_ports = start("testbed.serve", {
            "NEXTRIC_TESTBED_SCENARIO": SCENARIO, "NEXTRIC_TESTBED_SHOCKS": SHOCKS, "NEXTRIC_TESTBED_SEED": str(SEED),
            "NEXTRIC_TESTBED_SPEEDUP": str(SPEEDUP), "NEXTRIC_TESTBED_LOG__LEVEL": "WARNING"}, tmp_path / "testbed.log")
        procs.append(tb)
        xa, xa_ports = start("xapps.beam_predictor", {
            "NEXTRIC_XAPP_BEAM_E2__TARGET": f"127.0.0.1:{tb_ports['e2_port']}",
            "NEXTRIC_XAPP_BEAM_LOG__LEVEL": "WARNING"}, tmp_path / "xapp.log")
        procs.append(xa)
        assert xa_ports["model"], "the committed model must load"
        loop_mbps = asyncio.run(served_with_xapp(tb_ports["e2_port"], END / SPEEDUP + 30))
        metrics = httpx.get(f"http://127.0.0.1:{xa_ports['http_port']}/metrics").text
    finally:
        for p in procs:
            stop(p)
    values = {line.split()[0]: float(line.split()[-1]) for line in metrics.splitlines()
              if line.startswith("nextric_beam_predictor_") and not line.startswith("#")}
    assert values.get("nextric_beam_predictor_switches_sent_total", 0) > 100
    assert values.get('nextric_beam_predictor_decisions_total{source="model"}', 0) > 1000
    assert loop_mbps > 1.01 * base, f"served {loop_mbps:.1f} Mbit/s with the xApp vs {base:.1f} without"
    print(json.dumps({"served_mbps_xapp": loop_mbps, "served_mbps_default": base, "gain": loop_mbps / base}))
