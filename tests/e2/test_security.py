"""The E2 port under attack, with real gRPC servers on port 0: tokens and roles, optional TLS, per-client and per-node
subscription limits, the slow-consumer cut-off, the stale-subscription sweeper and the exclusive bind."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from pydantic import ValidationError as PydanticValidationError

from nextric.e2.auth import Authenticator, GrpcTokenGrant, allowed, load_grants
from nextric.e2.client import E2Client
from nextric.e2.errors import E2Failure
from nextric.e2.server import RunningE2Server, start_e2_server
from nextric.e2.settings import E2ClientSettings, E2ServerSettings
from nextric.e2.v1 import e2ap_pb2, e2ap_pb2_grpc
from nextric.errors import ConfigError, NextricError
from nextric.testing.e2node import ScriptedNodes

from .conftest import client_settings, until
from .test_contract import quota

KPM = e2ap_pb2.REPORT_STYLE_KPM
TOKENS = {"kpm": "kpm-token-0123456789abcdef", "control": "control-token-0123456789",
          "other": "other-kpm-0123456789abcdef"}


def grants() -> list[GrpcTokenGrant]:
    return [
        GrpcTokenGrant(name="reader", token=SecretStr(TOKENS["kpm"]), roles=["kpm"]),
        GrpcTokenGrant(name="scheduler", token=SecretStr(TOKENS["control"]), roles=["control"]),
        GrpcTokenGrant(name="reader2", token=SecretStr(TOKENS["other"]), roles=["kpm"]),
    ]


def as_(port: int, role: str | None, **extra: object) -> E2ClientSettings:
    settings = client_settings(port)
    update: dict[str, object] = dict(extra)
    if role is not None:
        update["token"] = SecretStr(TOKENS[role])
    return settings.model_copy(update=update)


@pytest.fixture
async def guarded(nodes: ScriptedNodes) -> AsyncIterator[tuple[RunningE2Server, CollectorRegistry]]:
    registry = CollectorRegistry()
    running = await start_e2_server(nodes, E2ServerSettings(tokens=grants()), registry)
    try:
        yield running, registry
    finally:
        await running.stop(None)


async def test_unauthenticated_and_wrong_role_controls_are_refused_and_nothing_applied(
    guarded: tuple[RunningE2Server, CollectorRegistry], nodes: ScriptedNodes
) -> None:
    running, registry = guarded
    assert running.authenticated
    async with E2Client(as_(running.port, "control")) as scheduler:
        node = (await scheduler.list_nodes())[0]
    request = quota(nodes, node, [(30, 100, 10), (40, 100, 20), (20, 60, 0)])
    for role, code in ((None, grpc.StatusCode.UNAUTHENTICATED), ("kpm", grpc.StatusCode.PERMISSION_DENIED)):
        async with E2Client(as_(running.port, role)) as client:
            with pytest.raises(E2Failure) as err:
                await client.control(e2ap_pb2.RicControlRequest().__class__.FromString(request.SerializeToString()))
            assert err.value.code == code
    unknown = SecretStr("not-a-token-at-all-xxxxxxxx")
    async with E2Client(as_(running.port, None).model_copy(update={"token": unknown})) as c:
        with pytest.raises(E2Failure) as err:
            await c.list_nodes()
        assert err.value.code == grpc.StatusCode.UNAUTHENTICATED
    assert nodes.applied == []  # nothing reached the node
    refused = registry.get_sample_value(
        "nextric_e2_calls_refused_total", {"method": "/nextric.e2.v1.E2Node/Control", "why": "permission-denied"})
    assert refused == 1
    async with E2Client(as_(running.port, "control")) as scheduler:
        ack = await scheduler.control(request)
    assert ack.WhichOneof("applied") == "slice_quota"
    assert len(nodes.applied) == 1


async def test_a_kpm_token_reads_and_health_stays_open(
    guarded: tuple[RunningE2Server, CollectorRegistry], nodes: ScriptedNodes
) -> None:
    running, _ = guarded
    async with E2Client(as_(running.port, "kpm")) as reader:
        infos = await reader.list_nodes()
        stream = reader.subscribe(infos[0].node_id, KPM, 10)
        pending = asyncio.ensure_future(anext(stream))
        await until(lambda: running.hub.wants(infos[0].node_id, KPM))
        nodes.publish_step(running.hub, 10)
        indication = await asyncio.wait_for(pending, 5)
        assert indication.header.sequence_number == 1
        await stream.aclose()
    async with grpc.aio.insecure_channel(running.target) as channel:  # probes need no token
        resp = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        assert resp.status == health_pb2.HealthCheckResponse.SERVING
        call = e2ap_pb2_grpc.E2NodeStub(channel).Subscribe(e2ap_pb2.RicSubscriptionRequest(node_id=infos[0].node_id))
        with pytest.raises(grpc.aio.AioRpcError) as err:  # a raw subscribe without a token
            await call.read()
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_roles_and_token_sources(tmp_path: Path) -> None:
    assert allowed(["kpm"], "/nextric.e2.v1.E2Node/Subscribe")
    assert not allowed(["kpm"], "/nextric.e2.v1.E2Node/Control")
    assert allowed(["control"], "/nextric.e2.v1.E2Node/Control")
    assert allowed(["transport"], "/nextric.transport.v1.TransportController/SetShares")
    assert not allowed(["kpm"], "/nextric.transport.v1.TransportController/SetShares")
    assert allowed(["twin"], "/nextric.twin.v1.DigitalTwin/Rollout")
    assert not allowed(["kpm"], "/nextric.twin.v1.DigitalTwin/Rollout")
    assert allowed(["kpm"], "/nextric.twin.v1.DigitalTwin/Describe")
    assert allowed(["evaluation"], "/nextric.evaluation.v1.Evaluation/GetBeamTruth")
    assert allowed(["admin"], "/anything.Else/Method")
    assert not allowed([], "/nextric.e2.v1.E2Node/ListNodes")
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps([{"name": "x", "token": "file-token-0123456789abcdef", "roles": ["control"]}]))
    loaded = load_grants(grants()[:1], path)
    assert [g.name for g in loaded] == ["reader", "x"]
    auth = Authenticator(loaded)
    found = auth.identify([("authorization", "Bearer file-token-0123456789abcdef")])
    assert found is not None
    assert found.name == "x"
    assert auth.identify([("authorization", "Basic file-token-0123456789")]) is None
    assert auth.identify([]) is None
    path.write_text(json.dumps([{"name": "x", "token": "short", "roles": ["control"]}]))
    with pytest.raises(ConfigError, match="shorter than 22"):
        load_grants([], path)
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="tokens_file"):
        load_grants([], path)
    with pytest.raises(PydanticValidationError, match="go together"):
        E2ServerSettings(tls_cert_file=tmp_path / "cert.pem")
    with pytest.raises(PydanticValidationError, match="mTLS"):
        E2ServerSettings(tls_client_ca_file=tmp_path / "ca.pem")


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A throw-away self-signed certificate for 127.0.0.1 / localhost (the cryptography package is not installed)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a test certificate")
async def test_tls_with_token(nodes: ScriptedNodes, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    running = await start_e2_server(nodes, E2ServerSettings(tokens=grants(), tls_cert_file=cert, tls_key_file=key))
    try:
        assert running.tls
        async with E2Client(as_(running.port, "kpm", tls_ca_file=cert)) as client:
            assert len(await client.list_nodes()) == 3
        async with E2Client(as_(running.port, None, tls_ca_file=cert)) as client:
            with pytest.raises(E2Failure) as err:
                await client.list_nodes()
            assert err.value.code == grpc.StatusCode.UNAUTHENTICATED
    finally:
        await running.stop(None)


async def test_subscriptions_are_limited_per_client_and_per_node(nodes: ScriptedNodes) -> None:
    settings = E2ServerSettings(tokens=grants(), max_subscriptions_per_client=2, max_subscriptions_per_node=3)
    running = await start_e2_server(nodes, settings)
    ids = nodes.node_ids
    try:
        # distinct RIC requestor ids: E2AP names a subscription by node + requestor + instance, whoever asks
        async with E2Client(as_(running.port, "kpm")) as reader, \
                E2Client(as_(running.port, "other", ric_requestor_id=2002)) as other:
            streams = [reader.subscribe(ids[0], KPM, 10), reader.subscribe(ids[1], KPM, 10)]
            pending = [asyncio.ensure_future(anext(s)) for s in streams]
            await until(lambda: running.hub.client_subscriptions("token:reader") == 2)
            with pytest.raises(E2Failure) as err:
                await anext(reader.subscribe(ids[2], KPM, 10))  # a third one of the same client
            assert err.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "max_subscriptions_per_client" in err.value.detail
            ok = other.subscribe(ids[0], KPM, 10)  # another client has its own quota
            pending.append(asyncio.ensure_future(anext(ok)))
            await until(lambda: running.hub.client_subscriptions("token:reader2") == 1)
            other2 = other.subscribe(ids[0], KPM, 10)  # node 0's third, its limit
            pending.append(asyncio.ensure_future(anext(other2)))
            await until(lambda: running.hub.client_subscriptions("token:reader2") == 2)
            async with E2Client(as_(running.port, "control", ric_requestor_id=3003)) as third:
                with pytest.raises(E2Failure) as err:
                    await anext(third.subscribe(ids[0], KPM, 10))
                assert "max_subscriptions_per_node" in err.value.detail
            nodes.publish_step(running.hub, 10)
            for p in pending:
                await asyncio.wait_for(p, 5)
            for s in (*streams, ok, other2):
                await s.aclose()
    finally:
        await running.stop(None)


async def test_a_stalled_consumer_is_cancelled_while_a_normal_subscriber_keeps_receiving(nodes: ScriptedNodes) -> None:
    registry = CollectorRegistry()
    settings = E2ServerSettings(outbox_depth=8, slow_consumer_timeout_s=0.2)
    running = await start_e2_server(nodes, settings, registry)
    node_id = nodes.node_ids[0]
    try:
        async with grpc.aio.insecure_channel(running.target) as raw, E2Client(client_settings(running.port)) as good:
            stalled = e2ap_pb2_grpc.E2NodeStub(raw).Subscribe(e2ap_pb2.RicSubscriptionRequest(
                node_id=node_id, ran_function_id=2, report_style=KPM, report_period_ms=10,
                ric_request_id=e2ap_pb2.RicRequestId(ric_requestor_id=9, ric_instance_id=1)))  # never read
            stream = good.subscribe(node_id, KPM, 10)
            received: list[int] = []

            async def consume() -> None:
                async for indication in stream:
                    received.append(indication.header.sequence_number)

            task = asyncio.ensure_future(consume())
            await until(lambda: len(running.hub) == 2)
            for _ in range(20_000):  # publish until the stalled stream's transport window and outbox are full
                nodes.publish_step(running.hub, 10)
                await asyncio.sleep(0.0005)
                if running.hub.counters.slow_consumers:
                    break
            assert running.hub.counters.slow_consumers == 1
            at_cut = len(received)
            for _ in range(20):
                nodes.publish_step(running.hub, 10)
                await asyncio.sleep(0.002)
            await until(lambda: len(received) >= at_cut + 20)  # the normal subscriber keeps receiving
            assert len(running.hub) == 1
            with pytest.raises(grpc.aio.AioRpcError) as err:
                async for _ in stalled:  # what was already in flight, then the status
                    pass
            assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert registry.get_sample_value("nextric_e2_slow_consumers_cancelled_total") == 1
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await stream.aclose()
    finally:
        await running.stop(None)


async def test_stale_subscriptions_are_swept_on_a_timer(nodes: ScriptedNodes) -> None:
    running = await start_e2_server(nodes, E2ServerSettings(detach_ttl_s=0.1, sweep_interval_s=0.05))
    try:
        async with grpc.aio.insecure_channel(running.target) as raw:
            stub = e2ap_pb2_grpc.E2NodeStub(raw)
            calls = [stub.Subscribe(e2ap_pb2.RicSubscriptionRequest(
                node_id=node_id, ran_function_id=2, report_style=KPM, report_period_ms=10,
                ric_request_id=e2ap_pb2.RicRequestId(ric_requestor_id=9, ric_instance_id=1)))
                for node_id in nodes.node_ids]
            await until(lambda: len(running.hub) == 3)
            for call in calls:
                call.cancel()  # the client leaves without deleting
        await until(lambda: len(running.hub) == 0, timeout_s=5)  # nobody subscribed again
        assert running.hub.counters.swept == 3
    finally:
        await running.stop(None)


async def test_the_e2_port_is_bound_exclusively(nodes: ScriptedNodes) -> None:
    first = await start_e2_server(nodes, E2ServerSettings())
    try:
        with pytest.raises(NextricError, match="could not bind"):
            await start_e2_server(nodes, E2ServerSettings(port=first.port))
    finally:
        await first.stop(None)
