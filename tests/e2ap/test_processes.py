"""The bridge and the E2AP-speaking testbed as real processes: ``python -m e2term`` and ``python -m testbed.serve``
with ``NEXTRIC_TESTBED_E2AP`` (what ``nextric testbed --e2ap HOST:PORT`` sets), then a RIC client on the bridge's
gRPC port sees every emulated node, gets KPM reports and has a slice quota acknowledged. Also: a gNB sending junk
gets an E2AP Error Indication, and the bridge keeps serving."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from nextric.e2 import ids, measurements
from nextric.e2.client import E2Client
from nextric.e2.settings import E2ClientSettings
from nextric.e2.v1 import e2ap_pb2
from nextric.e2ap import pdu as e2
from nextric.e2ap.transport import connect
from testbed.core.engine import Emulator
from testbed.core.scenario import load_scenario
from testbed.core.shocks import ShockRegime
from testbed.e2ap_agent import inventory
from testbed.e2node import EmulatedGnbs
from tests.test_testbed_e2 import quota
from tests.xapps.slice_scheduler.procs import SCENARIO, start, stop


async def ric_session(e2_port: int, e2ap_port: int, n_nodes: int) -> tuple[int, float, int, str]:
    async with E2Client(E2ClientSettings(target=f"127.0.0.1:{e2_port}", ric_requestor_id=77)) as client:
        nodes: list[e2ap_pb2.E2NodeInfo] = []
        for _ in range(500):
            nodes = await client.list_nodes()
            if len(nodes) == n_nodes:
                break
            await asyncio.sleep(0.02)
        node = nodes[0]
        stream = client.subscribe(node.node_id, e2ap_pb2.REPORT_STYLE_KPM, 1000)
        ind = await asyncio.wait_for(anext(stream), 30)
        table = measurements.kpm_table(ind.kpm)
        prbs = table[(ids.cell_key(node.cells[0].cgi), None)][measurements.PRB_AVAIL_DL]
        ack = await client.control(quota(node.cells[0], node.node_id, [(20, 100, 0), (50, 100, 30), (20, 100, 0)]))
        await stream.aclose()
        junk = await connect("127.0.0.1", e2ap_port, "tcp", 1 << 20)
        await junk.send(b"\x00\x01\x02")
        answer = e2.decode(await asyncio.wait_for(junk.recv(), 10))
        await junk.close()
        assert len(await client.list_nodes()) == n_nodes  # a bad peer costs the others nothing
        assert isinstance(answer, e2.ErrorIndication)
        return len(nodes), prbs, ack.slice_quota.cells[0].policies[1].min_prb_policy_ratio, str(answer.cause)


def test_bridge_and_e2ap_testbed_processes(tmp_path: Path) -> None:
    gnbs = EmulatedGnbs(Emulator(load_scenario(str(SCENARIO)), ShockRegime.parse("none"), seed=1))
    cells = tmp_path / "cells.json"
    cells.write_text(json.dumps(inventory(gnbs.node_infos())))
    procs = []
    try:
        bridge, ports = start("e2term", {"NEXTRIC_E2TERM_E2AP__PORT": "0", "NEXTRIC_E2TERM_E2AP__TRANSPORT": "tcp",
                                         "NEXTRIC_E2TERM_CELLS_FILE": str(cells),
                                         "NEXTRIC_E2TERM_LOG__LEVEL": "WARNING"}, tmp_path / "e2term.log")
        procs.append(bridge)
        assert ports["e2ap_transport"] == "tcp"
        testbed, _ = start("testbed.serve", {
            "NEXTRIC_TESTBED_SCENARIO": str(SCENARIO), "NEXTRIC_TESTBED_SHOCKS": "none", "NEXTRIC_TESTBED_SEED": "1",
            "NEXTRIC_TESTBED_SPEEDUP": "20", "NEXTRIC_TESTBED_E2AP": f"127.0.0.1:{ports['e2ap_port']}",
            "NEXTRIC_TESTBED_E2AP_TRANSPORT": "tcp", "NEXTRIC_TESTBED_LOG__LEVEL": "WARNING"}, tmp_path / "testbed.log")
        procs.append(testbed)
        n, prbs, min_ratio, cause = asyncio.run(ric_session(ports["e2_port"], ports["e2ap_port"], len(gnbs.bindings)))
        alive = httpx.get(f"http://127.0.0.1:{ports['http_port']}/ric/v1/health/alive", timeout=5)
    finally:
        for p in procs:
            stop(p)
    assert n == len(gnbs.bindings)
    assert prbs == gnbs.node_infos()[0].cells[0].prb_count
    assert min_ratio == 50
    assert cause == "protocol/transfer-syntax-error"
    assert alive.status_code == 200
