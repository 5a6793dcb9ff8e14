"""The testbed's companions on the E2 port (transport controller, digital twin) behind tokens and roles, and the
twin's Rollout bounds and admission limit, over real gRPC on port 0."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import numpy as np
import pytest
from pydantic import SecretStr

from nextric.e2 import ids
from nextric.e2.auth import GrpcTokenGrant, open_channel
from nextric.e2.server import RunningE2Server, start_e2_server
from nextric.e2.settings import E2ServerSettings
from nextric.transport.v1 import transport_pb2, transport_pb2_grpc
from nextric.twin.codec import to_tensor
from nextric.twin.v1 import twin_pb2, twin_pb2_grpc
from testbed.core.engine import Emulator
from testbed.core.scenario import load_scenario
from testbed.core.shocks import ShockRegime
from testbed.e2node import EmulatedGnbs
from testbed.transport_service import TransportController
from testbed.transport_service import registrar as transport_registrar
from testbed.twin_service import TwinLimits, TwinService
from testbed.twin_service import registrar as twin_registrar

TOKENS = {"kpm": "kpm-token-0123456789abcdef", "transport": "transport-token-0123456789",
          "twin": "twin-token-0123456789abcdef"}


@pytest.fixture
async def guarded() -> AsyncIterator[tuple[RunningE2Server, TwinService, EmulatedGnbs]]:
    emu = Emulator(load_scenario("twm_poc"), ShockRegime.parse("hotspot-ID"), seed=3)
    node = EmulatedGnbs(emu)
    twin = TwinService(emu.sc, "twm_poc", [b.cell_key for b in node.bindings],
                       TwinLimits(max_seeds=16, max_candidates=8, max_rollouts=32, max_horizon_slow_steps=4,
                                  max_concurrent_rollouts=1))
    grants = [GrpcTokenGrant(name=role, token=SecretStr(tok), roles=[role]) for role, tok in TOKENS.items()]
    server = await start_e2_server(node, E2ServerSettings(tokens=grants), extra_services=[
        transport_registrar(TransportController(emu)), twin_registrar(twin)])
    try:
        yield server, twin, node
    finally:
        await server.stop(None)


async def test_set_shares_and_rollout_need_their_roles(
    guarded: tuple[RunningE2Server, TwinService, EmulatedGnbs], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _, node = guarded
    sl = node.emu.sc.slices[0]
    request = transport_pb2.SetSharesRequest(links=[transport_pb2.LinkShares(
        link_id=node.emu.sc.transport.links[0].name,
        shares=[transport_pb2.SliceShare(snssai=ids.make_snssai(sl.sst, sl.sd), share=0.01)])])
    submitted: list[object] = []
    submit = node.emu.submit
    monkeypatch.setattr(node.emu, "submit", lambda control: (submitted.append(control), submit(control))[1])
    rollout = twin_pb2.RolloutRequest(n_seeds=2)
    for role, code in ((None, grpc.StatusCode.UNAUTHENTICATED), ("kpm", grpc.StatusCode.PERMISSION_DENIED),
                       ("twin", grpc.StatusCode.PERMISSION_DENIED)):
        async with open_channel(server.target, token=TOKENS[role] if role else None) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await transport_pb2_grpc.TransportControllerStub(channel).SetShares(request, timeout=5)
            assert err.value.code() == code
    assert submitted == []  # nothing reached the emulator
    async with open_channel(server.target, token=TOKENS["transport"]) as channel:
        reply = await transport_pb2_grpc.TransportControllerStub(channel).SetShares(request, timeout=5)
        assert len(reply.applied) == 1
        assert len(submitted) == 1
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await twin_pb2_grpc.DigitalTwinStub(channel).Rollout(rollout, timeout=5)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    async with open_channel(server.target, token=TOKENS["kpm"]) as channel:
        desc = await twin_pb2_grpc.DigitalTwinStub(channel).Describe(twin_pb2.DescribeRequest(), timeout=5)
        assert len(desc.cell_keys) == node.emu.sc.n_cells
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await twin_pb2_grpc.DigitalTwinStub(channel).Rollout(rollout, timeout=5)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize(
    ("n", "k", "seeds", "field"),
    [(1, 2, 17, "n_seeds"), (9, 2, 2, "candidates"), (8, 2, 8, "candidates x n_seeds"), (1, 5, 2, "horizon")],
)
async def test_rollout_bounds_name_the_field(
    guarded: tuple[RunningE2Server, TwinService, EmulatedGnbs], n: int, k: int, seeds: int, field: str
) -> None:
    server, _, node = guarded
    sc = node.emu.sc
    request = twin_pb2.RolloutRequest(
        n_seeds=seeds, prb_shares=to_tensor(np.full((n, k, sc.n_cells, sc.n_slices), 0.3)),
        transport_shares=to_tensor(np.full((n, k, sc.n_links, sc.n_slices), 0.3)))
    async with open_channel(server.target, token=TOKENS["twin"]) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await twin_pb2_grpc.DigitalTwinStub(channel).Rollout(request, timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (err.value.details() or "").startswith(field)


async def test_concurrent_rollouts_are_admitted_up_to_the_limit(
    guarded: tuple[RunningE2Server, TwinService, EmulatedGnbs],
) -> None:
    server, twin, _ = guarded
    twin.active = 1  # one rollout running (the limit in this fixture)
    try:
        async with open_channel(server.target, token=TOKENS["twin"]) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await twin_pb2_grpc.DigitalTwinStub(channel).Rollout(twin_pb2.RolloutRequest(n_seeds=1), timeout=5)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "max_concurrent_rollouts" in (err.value.details() or "")
    finally:
        twin.active = 0
