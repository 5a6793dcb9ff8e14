"""E2 loop benchmark: an E2 node streams KPM indications to an xApp that answers each with a control.

Two processes on loopback (node server and xApp client), one per core. For 1, 10 and 100 cells:

- latency: the node paces each cell at 10 reports/s (cells staggered over the period, as unsynchronised
  gNBs are); per indication, the time from the node emitting it to the xApp holding the control's
  acknowledge (p50, p99);
- sustained throughput: lock-step, each cell's next report is emitted as soon as its control arrives
  (an as-fast-as-possible testbed); completed indication->control->ack loops per second;
- the physical limit: the same lock-step loop over raw grpcio with pre-serialised messages of the same
  sizes and no E2 logic (echo), measured in the same run; ``ratio_to_echo`` = E2 / echo throughput.

Run: ``nextric bench e2`` (or ``make bench-e2``); results in ``bench/results/e2_loop.json``.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import grpc

from bench.common import machine, percentile_ms, save_results
from nextric.e2 import ids, measurements
from nextric.e2.client import E2Client
from nextric.e2.hub import IndicationHub
from nextric.e2.server import start_e2_server
from nextric.e2.settings import E2ClientSettings, E2ServerSettings
from nextric.e2.v1 import e2ap_pb2
from nextric.e2sm.rc.v1 import rc_pb2
from nextric.testing.e2node import ScriptedNodes

KPM = e2ap_pb2.REPORT_STYLE_KPM
PERIOD_MS = 100  # 10 reports/s per cell
ECHO_SERVICE = "/nextric.bench.Echo/"


# ---------------------------------------------------------------------------------------------- node side


def _resolve(future: asyncio.Future[None]) -> None:
    """Reader callback: the parent wrote to the control pipe, so stop."""
    if not future.done():
        future.set_result(None)


class BenchNodes(ScriptedNodes):
    """Scripted nodes that, in lock-step mode, emit a cell's next report when its control arrives."""

    def __init__(self, n_nodes: int, lockstep: bool) -> None:
        super().__init__(n_nodes)
        self.lockstep = lockstep
        self.hub: IndicationHub | None = None
        self.node_time = dict.fromkeys(self.node_ids, 0)
        self.by_id = {info.node_id: info for info in self.node_infos()}

    def emit(self, node_id: str) -> None:
        assert self.hub is not None
        self.node_time[node_id] += PERIOD_MS
        self.sim_time_ms = self.node_time[node_id]
        self.hub.publish(node_id, KPM, self.node_time[node_id], partial(self.kpm, self.by_id[node_id]))

    async def apply_control(self, request: e2ap_pb2.RicControlRequest) -> e2ap_pb2.RicControlAcknowledge:
        ack = await super().apply_control(request)
        self.applied.clear()  # keep memory flat over long runs
        if self.lockstep:
            asyncio.get_running_loop().call_soon(self.emit, request.node_id)
        return ack


async def _node_main(n_cells: int, lockstep: bool, conn: Any) -> None:
    nodes = BenchNodes(n_cells, lockstep)
    server = await start_e2_server(nodes, E2ServerSettings(replay_depth=0, outbox_depth=4096))
    nodes.hub = server.hub
    conn.send(server.port)
    started: set[str] = set()
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_reader(conn.fileno(), _resolve, stop)
    t0 = time.perf_counter()
    tick = 0
    step_s = PERIOD_MS / 1000.0 / n_cells
    while not stop.done():
        if lockstep:
            if len(started) == n_cells:
                await stop  # every cell runs on its own: each control triggers the next report
                break
            for node_id in nodes.node_ids:
                if node_id not in started and server.hub.wants(node_id, KPM):
                    started.add(node_id)
                    nodes.emit(node_id)
            await asyncio.sleep(0.001)
        else:
            node_id = nodes.node_ids[tick % n_cells]
            if server.hub.wants(node_id, KPM):
                nodes.emit(node_id)
            tick += 1
            delay = t0 + tick * step_s - time.perf_counter()
            await asyncio.sleep(max(0.0, delay))
    await server.stop(None)


def node_process(n_cells: int, lockstep: bool, conn: Any) -> None:
    asyncio.run(_node_main(n_cells, lockstep, conn))


# ---------------------------------------------------------------------------------------------- xApp side


def decide(indication: e2ap_pb2.RicIndication, node: e2ap_pb2.E2NodeInfo) -> e2ap_pb2.RicControlRequest:
    """A small but real decision: min PRB ratios proportional to each slice's offered throughput."""
    table = measurements.kpm_table(indication.kpm)
    cell = node.cells[0]
    key = ids.cell_key(cell.cgi)
    loads = [table.get((key, ids.snssai_key(s)), {}).get(measurements.THP_DL, 0.0) for s in cell.slices]
    total = sum(loads) or 1.0
    mins = [int(60 * load / total) for load in loads]
    policies = [
        rc_pb2.RrmPolicyRatio(
            members=[rc_pb2.RrmPolicyMember(plmn=cell.cgi.plmn, snssai=s)],
            min_prb_policy_ratio=m,
            max_prb_policy_ratio=100,
            dedicated_prb_policy_ratio=0,
        )
        for s, m in zip(cell.slices, mins, strict=True)
    ]
    return e2ap_pb2.RicControlRequest(
        node_id=node.node_id,
        slice_quota=rc_pb2.SliceQuotaControl(cells=[rc_pb2.CellRrmPolicy(cgi=cell.cgi, policies=policies)]),
    )


@dataclass
class LoopResult:
    loops: int
    seconds: float
    latencies_ns: list[int]
    indication_bytes: int
    control_bytes: int
    ack_bytes: int


async def run_xapp(port: int, duration_s: float, warmup_s: float) -> LoopResult:
    settings = E2ClientSettings(target=f"127.0.0.1:{port}", rpc_timeout_s=10.0)
    latencies: list[int] = []
    sizes = [0, 0, 0]
    async with E2Client(settings) as client:
        nodes = await client.list_nodes()
        t_start = time.perf_counter()
        t_measure = t_start + warmup_s
        t_end = t_measure + duration_s
        counted = 0

        async def serve(node: e2ap_pb2.E2NodeInfo) -> None:
            nonlocal counted
            stream = client.subscribe(node.node_id, KPM, PERIOD_MS)
            async for indication in stream:
                control = decide(indication, node)
                ack = await client.control(control)
                now = time.perf_counter()
                if now >= t_end:
                    break
                if now >= t_measure:
                    latencies.append(time.time_ns() - indication.header.emit_unix_ns)
                    counted += 1
                if not sizes[0]:
                    sizes[:] = [indication.ByteSize(), control.ByteSize(), ack.ByteSize()]
            await stream.aclose()

        await asyncio.gather(*(serve(n) for n in nodes))
    return LoopResult(counted, duration_s, latencies, *sizes)


def measure_e2(n_cells: int, lockstep: bool, duration_s: float, warmup_s: float) -> LoopResult:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=node_process, args=(n_cells, lockstep, child), daemon=True)
    proc.start()
    try:
        port = parent.recv()
        return asyncio.run(run_xapp(port, duration_s, warmup_s))
    finally:
        parent.send("stop")
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()


# ---------------------------------------------------------------------------------------------- raw echo


async def _echo_main(n_cells: int, ind_bytes: int, ack_bytes: int, conn: Any) -> None:
    indication = b"\x01" * ind_bytes
    ack = b"\x02" * ack_bytes
    triggers = [asyncio.Event() for _ in range(n_cells)]

    async def subscribe(request: bytes, context: Any) -> Any:
        ev = triggers[int.from_bytes(request[:4], "big")]
        ev.set()
        while True:
            await ev.wait()
            ev.clear()
            yield indication

    async def control(request: bytes, context: Any) -> bytes:
        triggers[int.from_bytes(request[:4], "big")].set()
        return ack

    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler(
        "nextric.bench.Echo",
        {
            "Subscribe": grpc.unary_stream_rpc_method_handler(subscribe),
            "Control": grpc.unary_unary_rpc_method_handler(control),
        },
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    conn.send(port)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_reader(conn.fileno(), _resolve, stop)
    await stop
    await server.stop(None)


def echo_process(n_cells: int, ind_bytes: int, ack_bytes: int, conn: Any) -> None:
    asyncio.run(_echo_main(n_cells, ind_bytes, ack_bytes, conn))


async def _echo_client(port: int, n_cells: int, control_bytes: int, duration_s: float, warmup_s: float) -> int:
    counted = 0
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        subscribe = channel.unary_stream(ECHO_SERVICE + "Subscribe", None, None)
        control = channel.unary_unary(ECHO_SERVICE + "Control", None, None)
        t_measure = time.perf_counter() + warmup_s
        t_end = t_measure + duration_s

        async def serve(cell: int) -> None:
            nonlocal counted
            tag = cell.to_bytes(4, "big")
            payload = tag + b"\x03" * max(0, control_bytes - 4)
            call = subscribe(tag)
            async for _ in call:
                await control(payload)
                now = time.perf_counter()
                if now >= t_end:
                    break
                if now >= t_measure:
                    counted += 1
            call.cancel()

        await asyncio.gather(*(serve(c) for c in range(n_cells)))
    return counted


def measure_echo(n_cells: int, sizes: LoopResult, duration_s: float, warmup_s: float) -> float:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=echo_process, args=(n_cells, sizes.indication_bytes, sizes.ack_bytes, child), daemon=True)
    proc.start()
    try:
        port = parent.recv()
        loops = asyncio.run(_echo_client(port, n_cells, sizes.control_bytes, duration_s, warmup_s))
    finally:
        parent.send("stop")
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()
    return loops / duration_s


# ---------------------------------------------------------------------------------------------- driver


def run(
    cell_counts: tuple[int, ...] = (1, 10, 100),
    duration_s: float = 3.0,
    warmup_s: float = 1.0,
    repeats: int = 3,
    out_dir: Path | None = None,
) -> dict[str, Any]:
    """Measure every cell count; throughput runs alternate E2 and echo ``repeats`` times and report
    medians, so load from other processes on a shared machine hits both sides alike."""
    import statistics

    from rich.progress import Progress

    rows: list[dict[str, Any]] = []
    with Progress() as progress:
        task = progress.add_task("E2 loop", total=(1 + 2 * repeats) * len(cell_counts))
        for n in cell_counts:
            progress.update(task, description=f"{n} cells: paced latency")
            paced = measure_e2(n, lockstep=False, duration_s=duration_s, warmup_s=warmup_s)
            progress.advance(task)
            e2_rates: list[float] = []
            echo_rates: list[float] = []
            flat: LoopResult | None = None
            for _ in range(repeats):
                progress.update(task, description=f"{n} cells: lock-step throughput")
                flat = measure_e2(n, lockstep=True, duration_s=duration_s, warmup_s=warmup_s)
                e2_rates.append(flat.loops / flat.seconds)
                progress.advance(task)
                progress.update(task, description=f"{n} cells: raw grpcio echo")
                echo_rates.append(measure_echo(n, flat, duration_s, warmup_s))
                progress.advance(task)
            assert flat is not None
            ind_per_s = statistics.median(e2_rates)
            echo = statistics.median(echo_rates)
            rows.append(
                {
                    "cells": n,
                    "offered_ind_per_s": n * 1000 / PERIOD_MS,
                    "paced_ind_per_s": paced.loops / paced.seconds,
                    "p50_ms": percentile_ms(paced.latencies_ns, 50),
                    "p99_ms": percentile_ms(paced.latencies_ns, 99),
                    "ind_per_s": ind_per_s,
                    "ind_per_s_runs": e2_rates,
                    "lockstep_p50_ms": percentile_ms(flat.latencies_ns, 50),
                    "lockstep_p99_ms": percentile_ms(flat.latencies_ns, 99),
                    "echo_ind_per_s": echo,
                    "echo_ind_per_s_runs": echo_rates,
                    "ratio_to_echo": ind_per_s / echo if echo else float("nan"),
                    "indication_bytes": flat.indication_bytes,
                    "control_bytes": flat.control_bytes,
                    "ack_bytes": flat.ack_bytes,
                }
            )
    result = {
        "benchmark": "e2_loop",
        "command": "nextric bench e2",
        "machine": machine(),
        "duration_s": duration_s,
        "repeats": repeats,
        "report_period_ms": PERIOD_MS,
        "targets": {"p99_ms_at_100_cells": 5.0, "min_ratio_to_echo": 0.5},
        "results": rows,
    }
    save_results("e2_loop", result, out_dir)
    return result


def print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="E2 loop: indication -> control -> ack")
    for col in ("cells", "p50 ms", "p99 ms", "loops/s (lock-step)", "echo/s", "ratio to echo", "ind B"):
        table.add_column(col, justify="right")
    for row in result["results"]:
        table.add_row(
            str(row["cells"]),
            f"{row['p50_ms']:.2f}",
            f"{row['p99_ms']:.2f}",
            f"{row['ind_per_s']:.0f}",
            f"{row['echo_ind_per_s']:.0f}",
            f"{row['ratio_to_echo']:.2f}",
            str(row["indication_bytes"]),
        )
    Console().print(table)


if __name__ == "__main__":
    print_table(run())
