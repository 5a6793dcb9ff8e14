"""The testbed's E2 adapter and transport controller over real gRPC, and the testbed as a real process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator

import grpc
import numpy as np
import pytest

from nextric.e2 import ids, measurements
from nextric.e2.client import E2Client
from nextric.e2.errors import E2Failure
from nextric.e2.server import RunningE2Server, start_e2_server
from nextric.e2.settings import E2ClientSettings, E2ServerSettings
from nextric.e2.v1 import e2ap_pb2
from nextric.e2sm.rc.v1 import rc_pb2
from nextric.transport.v1 import transport_pb2, transport_pb2_grpc
from testbed.core.engine import Emulator
from testbed.core.scenario import load_scenario
from testbed.core.shocks import ShockRegime
from testbed.e2node import EmulatedGnbs
from testbed.transport_service import TransportController, registrar

from .e2.conftest import until


@pytest.fixture
async def testbed() -> AsyncIterator[tuple[EmulatedGnbs, RunningE2Server, E2Client]]:
    emu = Emulator(load_scenario("twm_poc"), ShockRegime.parse("hotspot-ID"), seed=3)
    node = EmulatedGnbs(emu)
    server = await start_e2_server(node, E2ServerSettings(), extra_services=[registrar(TransportController(emu))])
    client = E2Client(E2ClientSettings(target=server.target))
    try:
        yield node, server, client
    finally:
        await client.close()
        await server.stop(None)


def quota(cell: e2ap_pb2.CellInfo, node_id: str, ratios: list[tuple[int, int, int]]) -> e2ap_pb2.RicControlRequest:
    return e2ap_pb2.RicControlRequest(
        node_id=node_id,
        slice_quota=rc_pb2.SliceQuotaControl(
            cells=[
                rc_pb2.CellRrmPolicy(
                    cgi=cell.cgi,
                    policies=[
                        rc_pb2.RrmPolicyRatio(
                            members=[rc_pb2.RrmPolicyMember(plmn=cell.cgi.plmn, snssai=s)],
                            min_prb_policy_ratio=lo,
                            max_prb_policy_ratio=hi,
                            dedicated_prb_policy_ratio=ded,
                        )
                        for s, (lo, hi, ded) in zip(cell.slices, ratios, strict=True)
                    ],
                )
            ]
        ),
    )


async def test_every_cell_is_an_e2_node_with_standard_prbs(
    testbed: tuple[EmulatedGnbs, RunningE2Server, E2Client],
) -> None:
    node, _server, client = testbed
    nodes = await client.list_nodes()
    assert len(nodes) == len(node.emu.sc.cells) == 10
    for info, cell in zip(nodes, node.emu.sc.cells, strict=True):
        assert info.cells[0].prb_count == cell.n_prb
        assert {ids.snssai_key(s) for s in info.cells[0].slices} == {"1-000001", "2-000002", "1-000003"}


async def test_kpm_and_slice_quota_close_the_loop(testbed: tuple[EmulatedGnbs, RunningE2Server, E2Client]) -> None:
    node, server, client = testbed
    info = (await client.list_nodes())[0]
    stream = client.subscribe(info.node_id, e2ap_pb2.REPORT_STYLE_KPM, 2000)
    pending = asyncio.ensure_future(anext(stream))
    await until(lambda: server.hub.wants(info.node_id, e2ap_pb2.REPORT_STYLE_KPM))
    node.step(server.hub)
    first = await asyncio.wait_for(pending, 5)
    table = measurements.kpm_table(first.kpm)
    key = ids.cell_key(info.cells[0].cgi)
    urllc = table[(key, "2-000002")]
    assert urllc[measurements.OFFERED_DL] >= 0
    assert 0 <= urllc[measurements.LOSS_DL] <= 1
    assert table[(key, None)][measurements.PRB_AVAIL_DL] == info.cells[0].prb_count
    assert first.header.sim_time_ms == node.fast_step_ms

    ack = await client.control(quota(info.cells[0], info.node_id, [(20, 100, 0), (50, 100, 30), (20, 100, 0)]))
    assert ack.slice_quota.cells[0].policies[1].min_prb_policy_ratio == 50
    node.step(server.hub)
    cell_index = 0
    assert node.emu.ratio_pct[cell_index, 1].tolist() == [30.0, 50.0, 100.0]
    await stream.delete()


async def test_bad_control_is_refused_and_state_kept(testbed: tuple[EmulatedGnbs, RunningE2Server, E2Client]) -> None:
    node, server, client = testbed
    info = (await client.list_nodes())[2]
    before = node.emu.ratio_pct.copy()
    with pytest.raises(E2Failure) as err:
        await client.control(quota(info.cells[0], info.node_id, [(60, 100, 0), (50, 100, 0), (0, 100, 0)]))
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
    node.step(server.hub)
    assert np.array_equal(node.emu.ratio_pct, before)


async def test_beam_and_pilot_reports(testbed: tuple[EmulatedGnbs, RunningE2Server, E2Client]) -> None:
    node, server, client = testbed
    info = (await client.list_nodes())[1]
    beams = client.subscribe(info.node_id, e2ap_pb2.REPORT_STYLE_BEAM, 1000)
    pilots = client.subscribe(info.node_id, e2ap_pb2.REPORT_STYLE_PILOT, 1000)
    got_beam = asyncio.ensure_future(anext(beams))
    got_pilot = asyncio.ensure_future(anext(pilots))
    await until(
        lambda: (
            server.hub.wants(info.node_id, e2ap_pb2.REPORT_STYLE_BEAM)
            and server.hub.wants(info.node_id, e2ap_pb2.REPORT_STYLE_PILOT)
        )
    )
    node.step(server.hub)
    beam = (await asyncio.wait_for(got_beam, 5)).beam
    pilot = (await asyncio.wait_for(got_pilot, 5)).pilot
    assert beam.set_a_size == node.emu.sc.radio.n_beams_set_a
    assert beam.reports, "the cell serves UEs"
    for rep in beam.reports:
        assert len(rep.beam_ids) == len(rep.l1_rsrp_dbm) == len(node.emu.sc.radio.set_b)
        assert all(-140 <= v <= -44 for v in rep.l1_rsrp_dbm)
        assert rep.serving_beam < beam.set_a_size
    assert pilot.reports
    rep = pilot.reports[0]
    assert len(rep.rx) == len(rep.ref) == 2 * len(rep.dmrs_symbols) * len(rep.dmrs_subcarriers)
    await beams.aclose()
    await pilots.aclose()


async def test_transport_shares(testbed: tuple[EmulatedGnbs, RunningE2Server, E2Client]) -> None:
    node, server, client = testbed
    async with grpc.aio.insecure_channel(server.target) as channel:
        stub = transport_pb2_grpc.TransportControllerStub(channel)
        links = (await stub.ListLinks(transport_pb2.ListLinksRequest())).links
        assert len(links) == node.emu.sc.n_links == 10
        slices = (await client.list_nodes())[0].cells[0].slices
        req = transport_pb2.SetSharesRequest(
            links=[
                transport_pb2.LinkShares(
                    link_id=links[0].link_id,
                    shares=[
                        transport_pb2.SliceShare(snssai=s, share=v)
                        for s, v in zip(slices, (0.5, 0.3, 0.2), strict=True)
                    ],
                )
            ]
        )
        await stub.SetShares(req)
        node.step(server.hub)
        assert node.emu.tn_share[0].tolist() == pytest.approx([0.5, 0.3, 0.2])
        req.links[0].shares[0].share = 0.9  # sum 1.4
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.SetShares(req)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        req.links[0].link_id = "no-such-link"
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.SetShares(req)
    node.step(server.hub)
    assert node.emu.tn_share[0].tolist() == pytest.approx([0.5, 0.3, 0.2])


def test_testbed_runs_as_a_process_and_reports_its_ports() -> None:
    env = {**os.environ, "NEXTRIC_TESTBED_STEPS": "30", "NEXTRIC_TESTBED_LOG__LEVEL": "WARNING"}
    proc = subprocess.run(
        [sys.executable, "-m", "testbed.serve"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    ports = json.loads(proc.stdout.splitlines()[0])
    assert ports["e2_port"] > 0
    assert ports["http_port"] > 0
    assert ports["nodes"] == 10


async def test_twin_service_rolls_out_candidates_from_e2_observations(
    testbed: tuple[EmulatedGnbs, RunningE2Server, E2Client],
) -> None:
    from nextric.twin.codec import to_tensor
    from nextric.twin.v1 import twin_pb2, twin_pb2_grpc
    from testbed.twin_service import TwinService
    from testbed.twin_service import registrar as twin_registrar

    node, server, client = testbed
    sc = node.emu.sc
    service = TwinService(sc, "twm_poc", [b.cell_key for b in node.bindings])
    infos = await client.list_nodes()
    streams = [client.subscribe(i.node_id, e2ap_pb2.REPORT_STYLE_KPM, 1000) for i in infos]
    pending = [asyncio.ensure_future(anext(s)) for s in streams]
    await until(lambda: all(server.hub.wants(i.node_id, e2ap_pb2.REPORT_STYLE_KPM) for i in infos))
    node.step(server.hub)
    history = [(await asyncio.wait_for(p, 5)).kpm for p in pending]
    for s in streams:
        await s.aclose()

    n, k = 3, 2
    prb = np.full((n, k, sc.n_cells, sc.n_slices), 1 / 3)
    prb[1] *= 0.3  # starve every slice: must score worse than the uniform split
    tn = np.full((n, k, sc.n_links, sc.n_slices), 1 / 3)
    request = twin_pb2.RolloutRequest(
        kpm_history=history,
        shocks="hotspot-ID",
        n_seeds=2,
        seed=5,
        prb_shares=to_tensor(prb),
        transport_shares=to_tensor(tn),
    )
    running = await start_e2_server(node, E2ServerSettings(), extra_services=[twin_registrar(service)])
    try:
        async with grpc.aio.insecure_channel(running.target) as channel:
            stub = twin_pb2_grpc.DigitalTwinStub(channel)
            desc = await stub.Describe(twin_pb2.DescribeRequest())
            assert list(desc.slice_keys) == ["1-000001", "2-000002", "1-000003"]
            assert len(desc.cell_keys) == sc.n_cells
            first = await stub.Rollout(request)
            again = await stub.Rollout(request)
            assert list(first.scm.shape) == [n, 2]
            assert first.rollouts == n * 2
            assert first == again  # seeds in, same numbers out
            loss = np.asarray(first.loss.values).reshape(n, 2, sc.n_slices)
            assert loss[1].mean() > loss[0].mean()
            request.prb_shares.values[0] = 2.0  # a share above 1
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.Rollout(request)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            del request.kpm_history[:]
            with pytest.raises(grpc.aio.AioRpcError):
                await stub.Rollout(request)
    finally:
        await running.stop(None)
