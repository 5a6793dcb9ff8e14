"""Contract tests of every E2 RPC over a real gRPC server, including the errors a misbehaving app sends."""

from __future__ import annotations

import asyncio
import contextlib

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import CollectorRegistry

from nextric.e2 import ids, measurements
from nextric.e2.client import E2Client, IndicationStream
from nextric.e2.errors import E2Failure
from nextric.e2.server import RunningE2Server, start_e2_server
from nextric.e2.settings import E2ServerSettings
from nextric.e2.v1 import e2ap_pb2
from nextric.e2sm.rc.v1 import rc_pb2
from nextric.testing.e2node import ScriptedNodes

from .conftest import client_settings, until

KPM = e2ap_pb2.REPORT_STYLE_KPM


async def take(stream: IndicationStream, n: int) -> list[e2ap_pb2.RicIndication]:
    return [await asyncio.wait_for(anext(stream), 5.0) for _ in range(n)]


def quota(
    nodes: ScriptedNodes, node: e2ap_pb2.E2NodeInfo, ratios: list[tuple[int, int, int]]
) -> e2ap_pb2.RicControlRequest:
    """Slice-quota control for the node's cell: one policy per slice with (min, max, dedicated)."""
    cell = node.cells[0]
    policies = [
        rc_pb2.RrmPolicyRatio(
            members=[rc_pb2.RrmPolicyMember(plmn=cell.cgi.plmn, snssai=snssai)],
            min_prb_policy_ratio=lo,
            max_prb_policy_ratio=hi,
            dedicated_prb_policy_ratio=ded,
        )
        for snssai, (lo, hi, ded) in zip(nodes.slices, ratios, strict=True)
    ]
    return e2ap_pb2.RicControlRequest(
        node_id=node.node_id,
        slice_quota=rc_pb2.SliceQuotaControl(cells=[rc_pb2.CellRrmPolicy(cgi=cell.cgi, policies=policies)]),
    )


async def test_discovery_lists_nodes_cells_and_functions(client: E2Client, server: RunningE2Server) -> None:
    nodes = await client.list_nodes()
    assert [n.node_id for n in nodes] == ["gnb-00101-00000001", "gnb-00101-00000002", "gnb-00101-00000003"]
    node = nodes[0]
    assert node.incarnation == server.hub.incarnation
    assert node.cells[0].prb_count == 106
    assert {fn.short_name for fn in node.ran_functions} >= {"ORAN-E2SM-KPM", "ORAN-E2SM-RC"}
    again = await client.get_node(node.node_id)
    assert again == node


async def test_unknown_node_is_not_found(client: E2Client) -> None:
    with pytest.raises(E2Failure) as info:
        await client.get_node("gnb-99999-deadbeef")
    assert info.value.code == grpc.StatusCode.NOT_FOUND
    assert info.value.value == "e2-node-unknown"


async def test_kpm_subscription_streams_sequenced_periodic_reports(
    client: E2Client, server: RunningE2Server, nodes: ScriptedNodes
) -> None:
    node_id = nodes.node_ids[0]
    stream = client.subscribe(node_id, KPM, report_period_ms=100)
    pending = asyncio.ensure_future(take(stream, 3))
    await until(lambda: server.hub.wants(node_id, KPM))
    for _ in range(30):  # 30 steps of 10 ms = 300 ms simulated -> 3 reports
        nodes.publish_step(server.hub, 10)
    got = await pending
    assert [i.header.sequence_number for i in got] == [1, 2, 3]
    assert [i.header.sim_time_ms for i in got] == [10, 100, 200]
    table = measurements.kpm_table(got[1].kpm)
    cell = ids.cell_key((await client.get_node(node_id)).cells[0].cgi)
    assert table[(cell, "2-000002")][measurements.DELAY_DL_P99] == 7.0
    assert table[(cell, None)][measurements.PRB_AVAIL_DL] == 106.0
    assert stream.stats.gaps == 0
    assert stream.stats.duplicates == 0
    await stream.delete()


@pytest.mark.parametrize(
    ("mutate", "code", "cause"),
    [
        (lambda r: setattr(r, "node_id", "gnb-00101-ffffffff"), grpc.StatusCode.NOT_FOUND, "e2-node-unknown"),
        (lambda r: setattr(r, "report_style", 42), grpc.StatusCode.INVALID_ARGUMENT, "action-not-supported"),
        (lambda r: setattr(r, "ran_function_id", 77), grpc.StatusCode.INVALID_ARGUMENT, "ran-function-id-invalid"),
        (
            lambda r: setattr(r, "ran_function_id", ids.RAN_FUNCTION_BEAM),
            grpc.StatusCode.INVALID_ARGUMENT,
            "action-not-supported",
        ),
        (lambda r: setattr(r, "report_period_ms", 0), grpc.StatusCode.INVALID_ARGUMENT, "event-trigger-not-supported"),
        (lambda r: r.ClearField("ric_request_id"), grpc.StatusCode.INVALID_ARGUMENT, "unspecified"),
        (
            lambda r: r.cells.add(plmn=r.cells[0].plmn, nr_cell_identity=12345),
            grpc.StatusCode.NOT_FOUND,
            "cell-unknown",
        ),
    ],
)
async def test_bad_subscriptions_are_refused_with_e2ap_cause(
    client: E2Client, nodes: ScriptedNodes, mutate: object, code: grpc.StatusCode, cause: str
) -> None:
    node = (await client.list_nodes())[0]
    stream = client.subscribe(node.node_id, KPM, 100, cells=[node.cells[0].cgi])
    mutate(stream.request)  # type: ignore[operator]
    with pytest.raises(E2Failure) as info:
        await asyncio.wait_for(anext(stream), 5.0)
    assert info.value.code == code
    assert info.value.value == cause


async def test_cell_filter_reports_only_the_requested_cells(
    client: E2Client, server: RunningE2Server, nodes: ScriptedNodes
) -> None:
    node = (await client.list_nodes())[1]
    stream = client.subscribe(node.node_id, e2ap_pb2.REPORT_STYLE_BEAM, 50, cells=[node.cells[0].cgi])
    pending = asyncio.ensure_future(take(stream, 1))
    await until(lambda: server.hub.wants(node.node_id, e2ap_pb2.REPORT_STYLE_BEAM))
    nodes.publish_step(server.hub, 50)
    (ind,) = await pending
    assert ind.WhichOneof("message") == "beam"
    assert {ids.cell_key(r.cgi) for r in ind.beam.reports} == {ids.cell_key(node.cells[0].cgi)}
    await stream.aclose()


async def test_delete_subscription_ends_stream_and_unknown_delete_fails(
    client: E2Client, server: RunningE2Server, nodes: ScriptedNodes
) -> None:
    node_id = nodes.node_ids[2]
    stream = client.subscribe(node_id, KPM, 10)
    pending = asyncio.ensure_future(take(stream, 1))
    await until(lambda: server.hub.wants(node_id, KPM))
    nodes.publish_step(server.hub, 10)
    await pending
    await stream.delete()
    assert not server.hub.wants(node_id, KPM)
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(stream), 5.0)
    with pytest.raises(E2Failure) as info:
        await client.delete_subscription(stream.request)
    assert info.value.code == grpc.StatusCode.NOT_FOUND
    assert info.value.value == "request-id-unknown"


async def test_control_is_acknowledged_with_the_applied_echo(client: E2Client, nodes: ScriptedNodes) -> None:
    node = (await client.list_nodes())[0]
    request = quota(nodes, node, [(30, 100, 10), (40, 100, 20), (20, 60, 0)])
    ack = await client.control(request)
    assert ack.WhichOneof("applied") == "slice_quota"
    assert ack.slice_quota == request.slice_quota
    assert ack.node_id == node.node_id
    assert len(nodes.applied) == 1


@pytest.mark.parametrize(
    ("ratios", "fragment"),
    [
        ([(50, 100, 0), (40, 100, 0), (20, 100, 0)], "sum of min ratios 110 > 100"),
        ([(60, 100, 60), (50, 100, 50), (0, 100, 0)], "sum of min ratios 110 > 100"),
        ([(10, 100, 20), (10, 100, 0), (10, 100, 0)], "dedicated <= min <= max"),
        ([(10, 5, 0), (10, 100, 0), (10, 100, 0)], "dedicated <= min <= max"),
        ([(10, 120, 0), (10, 100, 0), (10, 100, 0)], "max ratio 120 > 100"),
    ],
)
async def test_control_violating_ts28541_is_rejected_and_nothing_applied(
    client: E2Client, nodes: ScriptedNodes, ratios: list[tuple[int, int, int]], fragment: str
) -> None:
    node = (await client.list_nodes())[0]
    good = quota(nodes, node, [(30, 100, 10), (40, 100, 20), (20, 60, 0)])
    await client.control(good)
    with pytest.raises(E2Failure) as info:
        await client.control(quota(nodes, node, ratios))
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.value == "control-message-invalid"
    assert fragment in info.value.detail
    assert nodes.applied == [good]  # the accepted control stays, the bad one never reached the node


async def test_ratio_sums_of_exactly_100_are_accepted(client: E2Client, nodes: ScriptedNodes) -> None:
    # dedicated <= min per policy, so a dedicated sum over 100 always shows up as a min sum over 100 first;
    # the boundary itself (both sums exactly 100) must pass.
    node = (await client.list_nodes())[0]
    ack = await client.control(quota(nodes, node, [(60, 100, 60), (40, 100, 40), (0, 100, 0)]))
    assert [p.dedicated_prb_policy_ratio for p in ack.slice_quota.cells[0].policies] == [60, 40, 0]


@pytest.mark.parametrize(
    ("build", "code", "cause"),
    [
        (lambda r: r.ClearField("slice_quota"), grpc.StatusCode.INVALID_ARGUMENT, "control-message-invalid"),
        (
            lambda r: setattr(r, "ran_function_id", ids.RAN_FUNCTION_KPM),
            grpc.StatusCode.INVALID_ARGUMENT,
            "action-not-supported",
        ),
        (
            lambda r: setattr(r.slice_quota.cells[0].cgi, "nr_cell_identity", 999),
            grpc.StatusCode.NOT_FOUND,
            "cell-unknown",
        ),
        (
            lambda r: r.slice_quota.cells[0].policies[0].ClearField("members"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "control-message-invalid",
        ),
        (
            lambda r: setattr(r.slice_quota.cells[0].policies[0].members[0].snssai, "sd", "xyz"),
            grpc.StatusCode.INVALID_ARGUMENT,
            "control-message-invalid",
        ),
        (
            lambda r: r.slice_quota.cells.append(r.slice_quota.cells[0]),
            grpc.StatusCode.INVALID_ARGUMENT,
            "control-message-invalid",
        ),
    ],
)
async def test_malformed_controls_get_clear_causes(
    client: E2Client, nodes: ScriptedNodes, build: object, code: grpc.StatusCode, cause: str
) -> None:
    node = (await client.list_nodes())[0]
    req = quota(nodes, node, [(30, 100, 10), (40, 100, 20), (20, 60, 0)])
    req.ran_function_id = ids.RAN_FUNCTION_RC
    build(req)  # type: ignore[operator]
    with pytest.raises(E2Failure) as info:
        await client.control(req)
    assert (info.value.code, info.value.value) == (code, cause)
    assert nodes.applied == []


async def test_undecodable_bytes_are_rejected_as_invalid_argument(server: RunningE2Server) -> None:
    async with grpc.aio.insecure_channel(server.target) as channel:
        raw = channel.unary_unary("/nextric.e2.v1.E2Node/Control")
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await raw(b"\x0a\xff\xff\xff\xff\xff", timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "transfer-syntax-error" in (info.value.details() or "")


async def test_oversized_messages_are_rejected(nodes: ScriptedNodes) -> None:
    running = await start_e2_server(nodes, E2ServerSettings(max_receive_message_bytes=4096))
    try:
        async with E2Client(client_settings(running.port)) as client:
            node = (await client.list_nodes())[0]
            req = quota(nodes, node, [(30, 100, 10), (40, 100, 20), (20, 60, 0)])
            req.node_id = node.node_id + "x" * 5000
            with pytest.raises(E2Failure) as info:
                await client.control(req)
            assert info.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert nodes.applied == []
    finally:
        await running.stop(None)


async def test_stream_resumes_after_node_restart_without_duplicates(nodes: ScriptedNodes) -> None:
    first = await start_e2_server(nodes, E2ServerSettings(), incarnation=111)
    port = first.port
    node_id = nodes.node_ids[0]
    async with E2Client(client_settings(port)) as client:
        stream = client.subscribe(node_id, KPM, 10)
        pending = asyncio.ensure_future(take(stream, 3))
        await until(lambda: first.hub.wants(node_id, KPM))
        for _ in range(3):
            nodes.publish_step(first.hub, 10)
        before = await pending
        await first.stop(None)

        second = await start_e2_server(nodes, E2ServerSettings(port=port), incarnation=222)
        try:
            pending = asyncio.ensure_future(take(stream, 4))
            await until(lambda: second.hub.wants(node_id, KPM))
            for _ in range(4):
                nodes.publish_step(second.hub, 10)
            after = await pending
        finally:
            await second.stop(None)
    seen = [(i.header.incarnation, i.header.sequence_number) for i in before + after]
    assert seen == [(111, 1), (111, 2), (111, 3), (222, 1), (222, 2), (222, 3), (222, 4)]
    assert len(set(seen)) == len(seen)
    assert stream.stats.node_restarts == 1
    assert stream.stats.reconnects >= 1
    assert stream.stats.duplicates == 0


async def test_broken_stream_resumes_with_replay_no_gap_no_duplicate(
    client: E2Client, server: RunningE2Server, nodes: ScriptedNodes
) -> None:
    node_id = nodes.node_ids[1]
    stream = client.subscribe(node_id, KPM, 10)
    pending = asyncio.ensure_future(take(stream, 2))
    await until(lambda: server.hub.wants(node_id, KPM))
    nodes.publish_step(server.hub, 10)
    nodes.publish_step(server.hub, 10)
    first = await pending
    server.hub.disconnect_all()  # the stream breaks; the subscription stays
    for _ in range(3):  # published while nobody listens: kept for replay
        nodes.publish_step(server.hub, 10)
    rest = await take(stream, 3)
    seqs = [i.header.sequence_number for i in first + rest]
    assert seqs == [1, 2, 3, 4, 5]
    assert server.hub.counters.replayed >= 3
    assert stream.stats.gaps == 0
    assert stream.stats.duplicates == 0
    assert stream.stats.reconnects == 1
    await stream.delete()


async def test_slow_consumer_sees_gaps_counted(nodes: ScriptedNodes) -> None:
    running = await start_e2_server(nodes, E2ServerSettings(outbox_depth=4))
    node_id = nodes.node_ids[0]
    try:
        async with E2Client(client_settings(running.port)) as client:
            stream = client.subscribe(node_id, KPM, 10)
            pending = asyncio.ensure_future(take(stream, 1))
            await until(lambda: running.hub.wants(node_id, KPM))
            nodes.publish_step(running.hub, 10)
            await pending
            for _ in range(10):  # nobody reads: the outbox keeps the newest 4
                nodes.publish_step(running.hub, 10)
            got = await take(stream, 4)
            assert [i.header.sequence_number for i in got] == [8, 9, 10, 11]
            assert stream.stats.gaps == 6
    finally:
        await running.stop(None)


async def test_health_and_reflection_are_served(server: RunningE2Server) -> None:
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    async with grpc.aio.insecure_channel(server.target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        resp = await health.Check(health_pb2.HealthCheckRequest(service="nextric.e2.v1.E2Node"), timeout=5)
        assert resp.status == health_pb2.HealthCheckResponse.SERVING
        refl = reflection_pb2_grpc.ServerReflectionStub(channel)
        call = refl.ServerReflectionInfo()
        await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
        answer = await call.read()
        await call.done_writing()
        names = {s.name for s in answer.list_services_response.service}
    assert "nextric.e2.v1.E2Node" in names


async def test_server_metrics_count_rejections(nodes: ScriptedNodes) -> None:
    registry = CollectorRegistry()
    running = await start_e2_server(nodes, E2ServerSettings(), registry)
    try:
        async with E2Client(client_settings(running.port)) as client:
            with pytest.raises(E2Failure):
                await client.get_node("nope")
    finally:
        await running.stop(None)
    value = registry.get_sample_value(
        "nextric_e2_requests_rejected_total", {"rpc": "GetNode", "cause": "e2-node-unknown"}
    )
    assert value == 1.0


async def test_cancelling_a_control_loop_always_stops_it(client: E2Client, nodes: ScriptedNodes) -> None:
    """An app loop that treats E2 failures as retryable must still end when its task is cancelled, whenever the
    cancel lands: also when it races the control's completion, which grpc.aio can report as an RPC error."""
    node = (await client.list_nodes())[0]
    request = quota(nodes, node, [(30, 100, 10), (40, 100, 20), (20, 60, 0)])

    async def loop() -> None:
        while True:
            with contextlib.suppress(E2Failure):
                await client.control(request)

    for i in range(300):
        task = asyncio.create_task(loop())
        await asyncio.sleep(i % 60 * 0.00005)  # cancel at many points of the calls' lives
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=2.0)
        assert done, f"control loop {i} ignored its cancel"
        assert task.cancelled()
