"""Out-of-range and non-finite values in controls are refused with INVALID_ARGUMENT naming the field, before
anything reaches a node: RRMPolicyRatio fields above 100 (uint32 on the wire, so a negative value sent as a
64-bit varint arrives as 4294967295 and is refused too), an unknown estimator mode; on the testbed, a beam outside
Set A and transport shares that are NaN, infinite or outside [0, 1] (real gRPC servers on port 0)."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import grpc
import numpy as np
import pytest

from nextric.e2 import ids
from nextric.e2.client import E2Client
from nextric.e2.errors import E2Failure
from nextric.e2.server import RunningE2Server, start_e2_server
from nextric.e2.settings import E2ClientSettings, E2ServerSettings
from nextric.e2.v1 import e2ap_pb2
from nextric.e2sm.rc.v1 import rc_pb2
from nextric.testing.e2node import ScriptedNodes
from nextric.transport.v1 import transport_pb2, transport_pb2_grpc
from testbed.core.engine import Emulator
from testbed.core.scenario import load_scenario
from testbed.core.shocks import ShockRegime
from testbed.e2node import EmulatedGnbs
from testbed.transport_service import TransportController, registrar

from .test_contract import quota

FIELDS = ("min_prb_policy_ratio", "max_prb_policy_ratio", "dedicated_prb_policy_ratio")
#: a uint32 field holding -1 written as an int64 varint (ten bytes), as a careless encoder would send it
MINUS_ONE_VARINT = b"\xff" * 9 + b"\x01"


def _with_raw_varint(policy: rc_pb2.RrmPolicyRatio, field: str) -> rc_pb2.RrmPolicyRatio:
    """``policy`` with ``field`` decoded from the wire bytes of -1 (what the server would parse)."""
    number = rc_pb2.RrmPolicyRatio.DESCRIPTOR.fields_by_name[field].number
    cleared = rc_pb2.RrmPolicyRatio()
    cleared.CopyFrom(policy)
    cleared.ClearField(field)  # type: ignore[arg-type]
    return rc_pb2.RrmPolicyRatio.FromString(cleared.SerializeToString() + bytes([number << 3]) + MINUS_ONE_VARINT)


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("value", [101, 1000, 2**32 - 1])
async def test_every_ratio_field_above_100_is_refused_by_name(
    client: E2Client, nodes: ScriptedNodes, field: str, value: int
) -> None:
    node = (await client.list_nodes())[0]
    req = quota(nodes, node, [(30, 100, 10), (40, 100, 20), (20, 60, 0)])
    setattr(req.slice_quota.cells[0].policies[1], field, value)
    with pytest.raises(E2Failure) as info:
        await client.control(req)
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.value == "control-message-invalid"
    assert f"policy 1: {field}" in info.value.detail or (field != "max_prb_policy_ratio" and "max_prb" in
                                                         info.value.detail)
    assert nodes.applied == []


@pytest.mark.parametrize("field", FIELDS)
async def test_a_negative_ratio_on_the_wire_is_refused(client: E2Client, nodes: ScriptedNodes, field: str) -> None:
    node = (await client.list_nodes())[0]
    req = quota(nodes, node, [(30, 100, 10), (40, 100, 20), (20, 60, 0)])
    pol = _with_raw_varint(req.slice_quota.cells[0].policies[0], field)
    assert getattr(pol, field) == 2**32 - 1  # protobuf truncates the 64-bit varint to the uint32 field
    req.slice_quota.cells[0].policies[0].CopyFrom(pol)
    with pytest.raises(E2Failure) as info:
        await client.control(req)
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in info.value.detail
    assert nodes.applied == []


async def test_unknown_estimator_mode_is_refused(client: E2Client, nodes: ScriptedNodes) -> None:
    node = (await client.list_nodes())[0]
    req = e2ap_pb2.RicControlRequest(
        node_id=node.node_id, ran_function_id=ids.RAN_FUNCTION_RC,
        estimator_mode=rc_pb2.EstimatorModeControl(assignments=[rc_pb2.EstimatorAssignment(
            cgi=node.cells[0].cgi, all_groups=True, mode=99)]))  # type: ignore[arg-type]  # open enum on the wire
    with pytest.raises(E2Failure) as info:
        await client.control(req)
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "estimator mode 99" in info.value.detail
    assert nodes.applied == []


# ------------------------------------------------------------------------------------------------- the testbed


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


async def test_testbed_refuses_ratios_and_beams_out_of_range_and_keeps_its_state(
    testbed: tuple[EmulatedGnbs, RunningE2Server, E2Client],
) -> None:
    node, server, client = testbed
    info = (await client.list_nodes())[2]
    cell = info.cells[0]
    before = node.emu.ratio_pct.copy()
    for field in FIELDS:
        req = e2ap_pb2.RicControlRequest(node_id=info.node_id, slice_quota=rc_pb2.SliceQuotaControl(cells=[
            rc_pb2.CellRrmPolicy(cgi=cell.cgi, policies=[_with_raw_varint(rc_pb2.RrmPolicyRatio(
                members=[rc_pb2.RrmPolicyMember(plmn=cell.cgi.plmn, snssai=cell.slices[0])],
                min_prb_policy_ratio=10, max_prb_policy_ratio=50, dedicated_prb_policy_ratio=0), field)])]))
        with pytest.raises(E2Failure) as err:
            await client.control(req)
        assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert field in err.value.detail
    n_beams = node.emu.sc.radio.n_beams_set_a
    ue = 0  # the first UE of the scenario; the beam is checked first
    for beam in (n_beams, 2**32 - 1):
        req = e2ap_pb2.RicControlRequest(node_id=info.node_id, beam_switch=rc_pb2.BeamSwitchControl(
            switches=[rc_pb2.BeamSwitch(cgi=cell.cgi, ue_id=ue, beam_id=beam)]))
        with pytest.raises(E2Failure) as err:
            await client.control(req)
        assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert "switches[0].beam_id" in err.value.detail
    node.step(server.hub)
    assert np.array_equal(node.emu.ratio_pct, before)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, -0.1, 1.5, 1e308])
async def test_testbed_refuses_non_finite_or_out_of_range_transport_shares(
    testbed: tuple[EmulatedGnbs, RunningE2Server, E2Client], bad: float
) -> None:
    node, server, client = testbed
    before = node.emu.tn_share.copy()
    async with grpc.aio.insecure_channel(server.target) as channel:
        stub = transport_pb2_grpc.TransportControllerStub(channel)
        links = (await stub.ListLinks(transport_pb2.ListLinksRequest())).links
        slices = (await client.list_nodes())[0].cells[0].slices
        req = transport_pb2.SetSharesRequest(links=[transport_pb2.LinkShares(
            link_id=links[0].link_id,
            shares=[transport_pb2.SliceShare(snssai=s, share=v) for s, v in zip(slices, (0.2, bad, 0.2),
                                                                                  strict=True)])])
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.SetShares(req)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    detail = err.value.details() or ""
    assert "links[0].shares[1].share" in detail
    assert ("not a finite number" in detail) == (not math.isfinite(bad))
    node.step(server.hub)
    assert np.array_equal(node.emu.tn_share, before)
