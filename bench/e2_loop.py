"""E2 loop benchmark: an E2 node streams KPM indications to an xApp that answers each with a control.

Two processes on loopback (node server and xApp client), one per core. For 1, 10 and 100 cells:

- latency: the node paces each cell at 10 reports/s (cells staggered over the period, as unsynchronised
  gNBs are); per indication, the time from the node emitting it to the xApp holding the control's
  acknowledge (p50, p99). Every window also reports achieved vs offered indications/s (a warning, printed and
  saved, when it fell behind: its latencies are then queueing, not service) and the node's and the xApp's CPU
  (cores), and the whole machine's (the other load on a shared host);
- the latency baseline, in the same run: a paced raw-grpcio echo (opaque messages of the E2 sizes, no E2 logic,
  the node's pacing schedule), its windows alternated with the E2 windows; ``p99_ratio_to_echo`` per pair;
- sustained throughput: lock-step, each cell's next report is emitted as soon as its control arrives
  (an as-fast-as-possible testbed); completed indication->control->ack loops per second;
- the physical limit: the same lock-step loop over raw grpcio echo, alternated with the E2 windows;
  ``ratio_to_echo`` = E2 / echo throughput per pair.

Every figure is the median and spread over ``repeats`` (>= 3) windows, each a fresh pair of processes measured
after its own warm-up, after one untimed warm-up run per cell count. No best-of-N.

Run: ``nextric bench e2`` (or ``make bench-e2``); results in ``bench/results/e2_loop.json``.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import grpc

from bench.common import machine, percentile_ms, save_results
from bench.timing import MIN_REPEATS, CpuMeter, CpuWindow, Spread, offered_vs_achieved
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
    """One measurement window: the loops completed in it, their latencies, the message sizes, and the CPU the
    server (E2 node / echo server) and the client (xApp / echo client) process each used during the window."""

    loops: int
    seconds: float
    latencies_ns: list[int]
    indication_bytes: int
    control_bytes: int
    ack_bytes: int
    server_cpu: CpuWindow
    client_cpu: CpuWindow
    host_cpu: CpuWindow

    @property
    def per_s(self) -> float:
        return self.loops / self.seconds


class Window:
    """The measured part of a run: ``warmup_s`` after the start, ``duration_s`` long; meters the server and
    this (client) process over exactly that span."""

    def __init__(self, server_pid: int, duration_s: float, warmup_s: float) -> None:
        self.measure_from = time.perf_counter() + warmup_s
        self.end = self.measure_from + duration_s
        self.server = CpuMeter(server_pid)
        self.client = CpuMeter()
        self.host = CpuMeter.host()
        self.cpu: tuple[CpuWindow, CpuWindow, CpuWindow] | None = None

    async def meter(self) -> None:
        await asyncio.sleep(max(0.0, self.measure_from - time.perf_counter()))
        self.server.start()
        self.client.start()
        self.host.start()
        await asyncio.sleep(max(0.0, self.end - time.perf_counter()))
        self.cpu = self.server.stop(), self.client.stop(), self.host.stop()

    def cpu_windows(self) -> tuple[CpuWindow, CpuWindow, CpuWindow]:
        assert self.cpu is not None, "the window's meter did not finish"
        return self.cpu


async def run_xapp(port: int, server_pid: int, duration_s: float, warmup_s: float) -> LoopResult:
    settings = E2ClientSettings(target=f"127.0.0.1:{port}", rpc_timeout_s=10.0)
    latencies: list[int] = []
    sizes = [0, 0, 0]
    async with E2Client(settings) as client:
        nodes = await client.list_nodes()
        window = Window(server_pid, duration_s, warmup_s)
        counted = 0

        async def serve(node: e2ap_pb2.E2NodeInfo) -> None:
            nonlocal counted
            stream = client.subscribe(node.node_id, KPM, PERIOD_MS)
            async for indication in stream:
                control = decide(indication, node)
                ack = await client.control(control)
                now = time.perf_counter()
                if now >= window.end:
                    break
                if now >= window.measure_from:
                    latencies.append(time.time_ns() - indication.header.emit_unix_ns)
                    counted += 1
                if not sizes[0]:
                    sizes[:] = [indication.ByteSize(), control.ByteSize(), ack.ByteSize()]
            await stream.aclose()

        await asyncio.gather(window.meter(), *(serve(n) for n in nodes))
    return LoopResult(counted, duration_s, latencies, sizes[0], sizes[1], sizes[2], *window.cpu_windows())


def measure_e2(n_cells: int, lockstep: bool, duration_s: float, warmup_s: float) -> LoopResult:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=node_process, args=(n_cells, lockstep, child), daemon=True)
    proc.start()
    try:
        port = parent.recv()
        assert proc.pid is not None
        return asyncio.run(run_xapp(port, proc.pid, duration_s, warmup_s))
    finally:
        parent.send("stop")
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()


# ---------------------------------------------------------------------------------------------- raw echo


async def _echo_main(n_cells: int, ind_bytes: int, ack_bytes: int, lockstep: bool, conn: Any) -> None:
    """Raw grpcio, no E2 logic: a stream per cell of opaque indications of the E2 size, each starting with its
    emission time (ns), and a unary control answered with an opaque ack of the E2 size. Lock-step: a cell's next
    indication is emitted when its control arrives; paced: on the E2 node's schedule (cells staggered)."""
    pad = b"\x01" * max(0, ind_bytes - 8)
    ack = b"\x02" * ack_bytes
    queues: list[asyncio.Queue[bytes]] = [asyncio.Queue() for _ in range(n_cells)]
    subscribed = [False] * n_cells

    def emit(cell: int) -> None:
        queues[cell].put_nowait(time.time_ns().to_bytes(8, "big") + pad)

    async def subscribe(request: bytes, context: Any) -> Any:
        cell = int.from_bytes(request[:4], "big")
        subscribed[cell] = True
        if lockstep:
            emit(cell)
        while True:
            yield await queues[cell].get()

    async def control(request: bytes, context: Any) -> bytes:
        if lockstep:
            emit(int.from_bytes(request[:4], "big"))
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
    t0 = time.perf_counter()
    tick = 0
    step_s = PERIOD_MS / 1000.0 / n_cells
    while not stop.done() and not lockstep:  # the E2 node's pacing loop, on the same schedule
        cell = tick % n_cells
        if subscribed[cell]:
            emit(cell)
        tick += 1
        await asyncio.sleep(max(0.0, t0 + tick * step_s - time.perf_counter()))
    await stop
    await server.stop(None)


def echo_process(n_cells: int, ind_bytes: int, ack_bytes: int, lockstep: bool, conn: Any) -> None:
    asyncio.run(_echo_main(n_cells, ind_bytes, ack_bytes, lockstep, conn))


async def _echo_client(port: int, server_pid: int, n_cells: int, sizes: LoopResult, duration_s: float,
                       warmup_s: float) -> LoopResult:
    latencies: list[int] = []
    counted = 0
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        subscribe = channel.unary_stream(ECHO_SERVICE + "Subscribe", None, None)
        control = channel.unary_unary(ECHO_SERVICE + "Control", None, None)
        window = Window(server_pid, duration_s, warmup_s)

        async def serve(cell: int) -> None:
            nonlocal counted
            tag = cell.to_bytes(4, "big")
            payload = tag + b"\x03" * max(0, sizes.control_bytes - 4)
            call = subscribe(tag)
            async for indication in call:
                await control(payload)
                now = time.perf_counter()
                if now >= window.end:
                    break
                if now >= window.measure_from:
                    latencies.append(time.time_ns() - int.from_bytes(indication[:8], "big"))
                    counted += 1
            call.cancel()

        await asyncio.gather(window.meter(), *(serve(c) for c in range(n_cells)))
    return LoopResult(counted, duration_s, latencies, sizes.indication_bytes, sizes.control_bytes, sizes.ack_bytes,
                      *window.cpu_windows())


def measure_echo(n_cells: int, sizes: LoopResult, lockstep: bool, duration_s: float, warmup_s: float) -> LoopResult:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=echo_process, args=(n_cells, sizes.indication_bytes, sizes.ack_bytes, lockstep, child),
                       daemon=True)
    proc.start()
    try:
        port = parent.recv()
        assert proc.pid is not None
        return asyncio.run(_echo_client(port, proc.pid, n_cells, sizes, duration_s, warmup_s))
    finally:
        parent.send("stop")
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()


# ---------------------------------------------------------------------------------------------- summaries


def _spread(values: list[float]) -> dict[str, Any]:
    return Spread.of(values).as_dict()


def summarise_windows(windows: list[LoopResult], offered_per_s: float | None) -> dict[str, Any]:
    """Median and spread over the repeats of one side (E2 or echo): latency percentiles, achieved rate, the
    server/client processes' CPU and the whole machine's (cores: 1.0 = one core busy); at an offered rate,
    whether each window kept up."""
    out: dict[str, Any] = {
        "p50_ms": _spread([percentile_ms(w.latencies_ns, 50) for w in windows]),
        "p99_ms": _spread([percentile_ms(w.latencies_ns, 99) for w in windows]),
        "achieved_ind_per_s": _spread([w.per_s for w in windows]),
        "server_cores": _spread([w.server_cpu.cores for w in windows]),
        "client_cores": _spread([w.client_cpu.cores for w in windows]),
        # CPU per completed loop: what the loop costs each process whatever else runs on the host
        "server_cpu_ms_per_loop": _spread([1e3 * w.server_cpu.cpu_s / max(w.loops, 1) for w in windows]),
        "client_cpu_ms_per_loop": _spread([1e3 * w.client_cpu.cpu_s / max(w.loops, 1) for w in windows]),
        "host_cores": _spread([w.host_cpu.cores for w in windows]),
        # the machine's other load during the window (other processes on the shared host)
        "other_cores": _spread([w.host_cpu.cores - w.server_cpu.cores - w.client_cpu.cores for w in windows]),
        "loops_per_window": [w.loops for w in windows],
    }
    if offered_per_s is not None:
        rates = [offered_vs_achieved(offered_per_s, w.per_s) for w in windows]
        out["rates"] = [r.as_dict() for r in rates]
        out["kept_up"] = all(r.kept_up for r in rates)
    return out


def _ratios(num: list[float], den: list[float]) -> dict[str, Any]:
    """Spread of per-pair ratios (pair i = the i-th E2 window and the echo window right after it)."""
    return _spread([a / b if b else float("nan") for a, b in zip(num, den, strict=True)])


def fell_behind_warnings(label: str, summary: dict[str, Any]) -> list[str]:
    return [f"{label}, window {i + 1}: {r['warning']}" for i, r in enumerate(summary.get("rates", [])) if r["warning"]]


# ---------------------------------------------------------------------------------------------- driver


def measure_cells(n: int, duration_s: float, warmup_s: float, repeats: int, progress: Any, task: Any) -> dict[str, Any]:
    """Every window for one cell count: an untimed warm-up run (which also gives the E2 message sizes for the
    echo), then paced E2 / paced echo windows alternated ``repeats`` times, then lock-step E2 / echo alike."""
    offered = n * 1000 / PERIOD_MS
    progress.update(task, description=f"{n} cells: warm-up")
    sizes = measure_e2(n, lockstep=False, duration_s=min(1.0, duration_s), warmup_s=warmup_s)
    progress.advance(task)
    runs: dict[str, list[LoopResult]] = {"paced_e2": [], "paced_echo": [], "lockstep_e2": [], "lockstep_echo": []}
    for lockstep in (False, True):
        mode = "lockstep" if lockstep else "paced"
        for r in range(repeats):
            progress.update(task, description=f"{n} cells: {mode} E2 ({r + 1}/{repeats})")
            runs[f"{mode}_e2"].append(measure_e2(n, lockstep, duration_s, warmup_s))
            progress.advance(task)
            progress.update(task, description=f"{n} cells: {mode} raw grpcio echo ({r + 1}/{repeats})")
            runs[f"{mode}_echo"].append(measure_echo(n, sizes, lockstep, duration_s, warmup_s))
            progress.advance(task)
    pe2, pecho = (summarise_windows(runs[k], offered) for k in ("paced_e2", "paced_echo"))
    le2, lecho = (summarise_windows(runs[k], None) for k in ("lockstep_e2", "lockstep_echo"))

    def col(key: str, pct: float | None = None) -> list[float]:
        return [percentile_ms(w.latencies_ns, pct) if pct else w.per_s for w in runs[key]]

    warnings = (fell_behind_warnings(f"{n} cells, paced E2", pe2)
                + fell_behind_warnings(f"{n} cells, paced echo", pecho))
    return {
        "cells": n,
        "offered_ind_per_s": offered,
        "paced": {
            "e2": pe2,
            "echo": pecho,
            "p50_ratio_to_echo": _ratios(col("paced_e2", 50), col("paced_echo", 50)),
            "p99_ratio_to_echo": _ratios(col("paced_e2", 99), col("paced_echo", 99)),
            "kept_up": pe2["kept_up"],
        },
        "lockstep": {
            "e2": le2,
            "echo": lecho,
            "ratio_to_echo": _ratios(col("lockstep_e2"), col("lockstep_echo")),
        },
        "indication_bytes": sizes.indication_bytes,
        "control_bytes": sizes.control_bytes,
        "ack_bytes": sizes.ack_bytes,
        "warnings": warnings,
    }


def run(
    cell_counts: tuple[int, ...] = (1, 10, 100),
    duration_s: float = 3.0,
    warmup_s: float = 1.0,
    repeats: int = MIN_REPEATS,
    out_dir: Path | None = None,
) -> dict[str, Any]:
    """Measure every cell count (see :func:`measure_cells`); medians and spreads over ``repeats`` (>= 3) windows,
    E2 and echo windows alternated so load from other processes on a shared machine hits both sides alike."""
    from rich.progress import Progress

    if repeats < MIN_REPEATS:
        raise ValueError(f"repeats must be >= {MIN_REPEATS}, got {repeats}")
    load_before = os.getloadavg()
    rows: list[dict[str, Any]] = []
    with Progress() as progress:
        task = progress.add_task("E2 loop", total=(1 + 4 * repeats) * len(cell_counts))
        for n in cell_counts:
            rows.append(measure_cells(n, duration_s, warmup_s, repeats, progress, task))
            for w in rows[-1]["warnings"]:
                progress.console.print(f"[yellow]WARNING[/] {w}")
    targets = {"p99_ms_at_100_cells": 5.0, "min_ratio_to_echo": 0.5}
    at_100 = next((r for r in rows if r["cells"] == 100), None)
    result = {
        "benchmark": "e2_loop",
        "command": "nextric bench e2",
        "machine": machine(),
        "load_avg_1_5_15": {"before": load_before, "after": os.getloadavg()},
        "duration_s": duration_s,
        "warmup_s": warmup_s,
        "repeats": repeats,
        "report_period_ms": PERIOD_MS,
        "method": "per cell count: one untimed warm-up run, then paced E2 / paced raw-grpcio echo windows "
                  "alternated (same offered rate and message sizes), then lock-step E2 / echo alternated; each "
                  "window a fresh server process, measured after its own warm-up; medians and spreads over the "
                  "windows, ratios per E2/echo pair; CPU (cores) of the server from /proc/<pid>/stat, of the client "
                  "from its process time, of the whole machine from /proc/stat (other_cores: the rest of its load)",
        "targets": targets,
        "target_met": None if at_100 is None else {
            "p99_ms_at_100_cells": bool(at_100["paced"]["kept_up"] and at_100["paced"]["e2"]["p99_ms"]["median"]
                                        <= targets["p99_ms_at_100_cells"]),
            "min_ratio_to_echo": all(r["lockstep"]["ratio_to_echo"]["median"] >= targets["min_ratio_to_echo"]
                                     for r in rows),
        },
        "warnings": [w for r in rows for w in r["warnings"]],
        "results": rows,
    }
    save_results("e2_loop", result, out_dir)
    return result


def _med(s: dict[str, Any], fmt: str) -> str:
    return f"{s['median']:{fmt}} [{s['min']:{fmt}}-{s['max']:{fmt}}]"


def print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 200))
    table = Table(title=f"E2 loop: indication -> control -> ack (median \\[min-max] of {result['repeats']} windows)")
    for col in ("cells", "offered/s", "achieved/s", "p50 ms", "p99 ms", "echo p99 ms", "p99 / echo",
                "node / xApp / others cores", "node / xApp CPU ms per loop", "lock-step loops/s", "echo loops/s",
                "ratio to echo"):
        table.add_column(col, justify="right")
    for row in result["results"]:
        p, ls = row["paced"], row["lockstep"]
        behind = "" if p["kept_up"] else " [red]BEHIND[/]"
        table.add_row(
            str(row["cells"]),
            f"{row['offered_ind_per_s']:.0f}",
            _med(p["e2"]["achieved_ind_per_s"], ".0f") + behind,
            _med(p["e2"]["p50_ms"], ".2f"),
            _med(p["e2"]["p99_ms"], ".2f"),
            _med(p["echo"]["p99_ms"], ".2f"),
            _med(p["p99_ratio_to_echo"], ".1f"),
            f"{p['e2']['server_cores']['median']:.2f} / {p['e2']['client_cores']['median']:.2f} / "
            f"{p['e2']['other_cores']['median']:.2f}",
            f"{p['e2']['server_cpu_ms_per_loop']['median']:.2f} / {p['e2']['client_cpu_ms_per_loop']['median']:.2f}",
            _med(ls["e2"]["achieved_ind_per_s"], ".0f"),
            _med(ls["echo"]["achieved_ind_per_s"], ".0f"),
            _med(ls["ratio_to_echo"], ".2f"),
        )
    console.print(table)
    for w in result["warnings"]:
        console.print(f"[yellow]WARNING[/] {w}")


if __name__ == "__main__":
    print_table(run())
