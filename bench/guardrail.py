"""Guardrail benchmark: in-process ``check`` latency (p50/p99, µs) and the HTTP check's server CPU per request.

Each number comes with a baseline measured in the same run, in windows alternated with the candidate's (ABAB,
>= 3 each, after a warm-up of each), reported as median and spread over the windows and as per-pair ratios:

- in-process: ``check()`` vs an empty function call, ``--checks`` calls per window;
- HTTP: ``POST /guardrail/v1/check`` on the policy service (SQLite audit, durable) vs a no-op FastAPI endpoint on
  its own uvicorn, both servers up for the whole run. The figure is the **server's CPU seconds per request**
  (its ``/proc/<pid>/stat`` read before and after each window), which does not depend on how fast the client can
  send; the client-observed req/s and p99 are reported beside it with the client's own CPU (cores), so a
  client-bound window (client near one core) is visible rather than read as the server's throughput, and so is
  the rest of the machine's load during the window (``other_cores``, from ``/proc/stat``) on a shared host.

Results are printed and saved to ``bench/results/guardrail.json``.

    python -m bench.guardrail [--checks 20000] [--seconds 5] [--repeats 3] [--concurrency 16] [--out PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.timing import MIN_REPEATS, CpuMeter, Spread
from nextric.guardrail import (
    Action,
    Bounds,
    Context,
    GuardrailPolicy,
    GuardrailState,
    RrmPolicy,
    SliceBounds,
    SlicePrbQuotaAction,
    SNssai,
    Verdict,
    check,
)

RESULTS = Path(__file__).parent / "results" / "guardrail.json"
SLICES = (SNssai(1, "000001"), SNssai(2, "000002"), SNssai(3, "000003"))


def _scenario() -> tuple[list[Action], Context]:
    """Three slices per cell, bounds on each, a current configuration, and a mix of allow/clamp/deny."""
    bounds = {m: SliceBounds(Bounds(5, 60), Bounds(20, 100), Bounds(0, 30)) for m in SLICES}
    policy = GuardrailPolicy(slice_bounds=MappingProxyType(bounds), max_step_pp=10, min_interval_s=1.0)
    current = SlicePrbQuotaAction("c1", tuple(RrmPolicy(m, 30, 80, 10) for m in SLICES))
    state = GuardrailState().applied(current, 0.0)
    actions: list[Action] = []
    for i in range(64):
        delta = (i % 9) * 4 - 16  # -16..+16 points: some in step, some clamped
        ps = tuple(RrmPolicy(m, max(10, 30 + delta - k), 80, 10) for k, m in enumerate(SLICES))
        actions.append(SlicePrbQuotaAction("c1", ps))
    return actions, state.context(5.0, policy)


def _percentiles(samples_ns: list[int]) -> dict[str, float]:
    ordered = sorted(samples_ns)
    n = len(ordered)
    return {
        "p50_us": ordered[n // 2] / 1000,
        "p99_us": ordered[min(n - 1, int(n * 0.99))] / 1000,
        "mean_us": statistics.fmean(ordered) / 1000,
    }


def _spreads(windows: list[dict[str, float]]) -> dict[str, Any]:
    """Median and spread over windows, per key of the windows' dicts."""
    return {k: Spread.of([w[k] for w in windows]).as_dict() for k in windows[0]}


def _time_calls(fn: Callable[[Action, Context], object], actions: list[Action], ctx: Context, n: int) -> list[int]:
    out: list[int] = []
    clock = time.perf_counter_ns
    for i in range(n):
        a = actions[i % len(actions)]
        t0 = clock()
        fn(a, ctx)
        out.append(clock() - t0)
    return out


def bench_in_process(n: int, repeats: int, progress: Progress) -> dict[str, Any]:
    """``repeats`` windows of ``n`` empty calls alternated with ``repeats`` windows of ``n`` checks (after one
    warm-up window of each); per-window p50/p99/mean, their median and spread, the p99 ratio per pair."""
    actions, ctx = _scenario()

    def noop(a: Action, c: Context) -> None:
        return None

    def guard(a: Action, c: Context) -> Verdict:
        return check(a, c)

    task = progress.add_task("in-process check() vs empty call (ABAB)", total=2 * (repeats + 1))
    _time_calls(noop, actions, ctx, n)  # warm-up windows
    _time_calls(guard, actions, ctx, n)
    progress.advance(task, 2)
    base: list[dict[str, float]] = []
    real: list[dict[str, float]] = []
    for _ in range(repeats):
        base.append(_percentiles(_time_calls(noop, actions, ctx, n)))
        progress.advance(task)
        real.append(_percentiles(_time_calls(guard, actions, ctx, n)))
        progress.advance(task)
    decisions = sorted({guard(a, ctx).decision.value for a in actions})
    check_s = _spreads(real)
    return {
        "checks_per_window": n,
        "windows": repeats,
        "check": check_s,
        "baseline_empty_call": _spreads(base),
        "decisions_in_mix": decisions,
        "p99_ratio_to_baseline": Spread.of([r["p99_us"] / max(b["p99_us"], 1e-9)
                                            for r, b in zip(real, base, strict=True)]).as_dict(),
        "p99_under_1ms": check_s["p99_us"]["max"] < 1000.0,
    }


# -- HTTP ---------------------------------------------------------------------------------------------------
def _noop_app() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/noop")
    async def noop(body: dict[str, Any]) -> dict[str, str]:
        return {"decision": "allow"}

    return app


def _serve_noop(port_file: Path) -> None:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port_file.write_text(str(sock.getsockname()[1]))
    server = uvicorn.Server(uvicorn.Config(_noop_app(), log_level="warning", access_log=False))
    asyncio.run(server.serve(sockets=[sock]))


def _spawn(args: list[str], env: dict[str, str], port_file: Path) -> tuple[subprocess.Popen[bytes], int]:
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{args} exited with {proc.returncode}")
        if port_file.exists() and port_file.read_text().strip():
            port = int(port_file.read_text())
            try:
                httpx.get(f"http://127.0.0.1:{port}/ric/v1/health/alive", timeout=1.0)
                return proc, port
            except httpx.HTTPError:
                pass
        time.sleep(0.02)  # polling the port file against a deadline
    proc.kill()
    raise RuntimeError("server did not start")


BODY = {
    "action": {
        "kind": "slice_prb_quota",
        "cellId": "c1",
        "policies": [
            {"member": {"sst": 1, "sd": "000001"}, "minPrbRatio": 30, "maxPrbRatio": 80, "dedicatedPrbRatio": 10}
        ],
    }
}


async def _drive(client: httpx.AsyncClient, path: str, seconds: float, concurrency: int, server_pid: int,
                 progress: Progress, label: str) -> dict[str, Any]:
    """One window: ``concurrency`` closed-loop workers POST for ``seconds``; the server's and this client's CPU
    over the window, per-request latencies as the client sees them."""
    task = progress.add_task(label, total=seconds)
    done = errors = 0
    lat_ns: list[int] = []
    server, own, host = CpuMeter(server_pid), CpuMeter(), CpuMeter.host()
    server.start()
    own.start()
    host.start()
    start = time.perf_counter()
    end = start + seconds

    async def worker() -> None:
        nonlocal done, errors
        clock = time.perf_counter_ns
        while time.perf_counter() < end:
            t0 = clock()
            r = await client.post(path, json=BODY)
            lat_ns.append(clock() - t0)
            if r.status_code == 200:
                done += 1
            else:
                errors += 1

    async def ticker() -> None:
        while time.perf_counter() < end:
            progress.update(task, completed=min(seconds, time.perf_counter() - start))
            await asyncio.sleep(0.1)

    await asyncio.gather(ticker(), *(worker() for _ in range(concurrency)))
    server_cpu, client_cpu, host_cpu = server.stop(), own.stop(), host.stop()
    progress.update(task, completed=seconds)
    ordered = sorted(lat_ns)
    return {
        "requests": done,
        "errors": errors,
        "seconds": server_cpu.wall_s,
        "server_cpu_s_per_request": server_cpu.cpu_s / max(done, 1),
        "server_req_per_s_per_core": done / max(server_cpu.cpu_s, 1e-12),  # its ceiling were it CPU-bound
        "server_cores": server_cpu.cores,
        "client_cores": client_cpu.cores,
        "client_cpu_s_per_request": client_cpu.cpu_s / max(done, 1),
        "other_cores": host_cpu.cores - server_cpu.cores - client_cpu.cores,  # the rest of the machine's load
        "req_per_s": done / server_cpu.wall_s,
        "p50_ms": ordered[len(ordered) // 2] / 1e6,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1e6,
    }


async def _alternate(noop_url: str, check_url: str, token: str, server_pids: tuple[int, int], seconds: float,
                     repeats: int, concurrency: int, warmup_s: float,
                     progress: Progress) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A warm-up window on each server, then no-op / check windows alternated ``repeats`` times."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    base: list[dict[str, Any]] = []
    real: list[dict[str, Any]] = []
    async with (httpx.AsyncClient(base_url=noop_url, limits=limits, timeout=30.0) as noop,
                httpx.AsyncClient(base_url=check_url, headers={"Authorization": f"Bearer {token}"}, limits=limits,
                                  timeout=30.0) as svc):
        await _drive(noop, "/noop", warmup_s, concurrency, server_pids[0], progress, "warm-up: no-op endpoint")
        await _drive(svc, "/guardrail/v1/check", warmup_s, concurrency, server_pids[1], progress, "warm-up: check")
        for r in range(repeats):
            base.append(await _drive(noop, "/noop", seconds, concurrency, server_pids[0], progress,
                                     f"baseline: no-op FastAPI endpoint ({r + 1}/{repeats})"))
            real.append(await _drive(svc, "/guardrail/v1/check", seconds, concurrency, server_pids[1], progress,
                                     f"HTTP /guardrail/v1/check, SQLite audit, durable ({r + 1}/{repeats})"))
    return base, real


CLIENT_BOUND_CORES = 0.9  #: a window whose client used this much of one core was limited by the client


def _http_side(windows: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("server_cpu_s_per_request", "server_req_per_s_per_core", "req_per_s", "p50_ms", "p99_ms",
            "server_cores", "client_cores", "client_cpu_s_per_request", "other_cores")
    return {
        **{k: Spread.of([w[k] for w in windows]).as_dict() for k in keys},
        "requests": sum(w["requests"] for w in windows),
        "errors": sum(w["errors"] for w in windows),
        "client_bound_windows": sum(w["client_cores"] >= CLIENT_BOUND_CORES for w in windows),
        "windows": windows,
    }


def _pair_ratio(real: list[dict[str, Any]], base: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return Spread.of([r[key] / max(b[key], 1e-12) for r, b in zip(real, base, strict=True)]).as_dict()


def bench_http(seconds: float, repeats: int, concurrency: int, progress: Progress) -> dict[str, Any]:
    token = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        env = dict(os.environ)
        env.update(
            {
                "NEXTRIC_POLICY_PORT": "0",
                "NEXTRIC_POLICY_PORT_FILE": str(tmp_path / "policy.port"),
                "NEXTRIC_POLICY_BACKEND": "sqlite",
                "NEXTRIC_POLICY_SQLITE_PATH": str(tmp_path / "bench.db"),
                "NEXTRIC_POLICY_REQUESTS_PER_S": "0",
                "NEXTRIC_POLICY_LOG_LEVEL": "WARNING",
                "NEXTRIC_POLICY_TOKENS": json.dumps([{"name": "bench", "token": token, "roles": ["xapp"]}]),
            }
        )
        noop_port_file = tmp_path / "noop.port"
        noop, noop_port = _spawn(
            [sys.executable, "-m", "bench.guardrail", "--serve-noop", str(noop_port_file)], env, noop_port_file
        )
        try:
            svc, port = _spawn([sys.executable, "-m", "policy"], env, tmp_path / "policy.port")
            try:
                base, real = asyncio.run(_alternate(
                    f"http://127.0.0.1:{noop_port}", f"http://127.0.0.1:{port}", token, (noop.pid, svc.pid),
                    seconds, repeats, concurrency, min(1.0, seconds), progress))
            finally:
                svc.terminate()
                svc.wait(timeout=10)
        finally:
            noop.terminate()
            noop.wait(timeout=10)
    return {
        "concurrency": concurrency,
        "seconds_per_window": seconds,
        "windows": repeats,
        "client_bound_at_cores": CLIENT_BOUND_CORES,
        "check": _http_side(real),
        "baseline_noop_endpoint": _http_side(base),
        "server_cpu_per_request_ratio_to_baseline": _pair_ratio(real, base, "server_cpu_s_per_request"),
        "throughput_ratio_to_baseline": _pair_ratio(real, base, "req_per_s"),
    }


def _cell(s: dict[str, Any], scale: float, fmt: str) -> str:
    return f"{s['median'] * scale:{fmt}} [{s['min'] * scale:{fmt}}-{s['max'] * scale:{fmt}}]"


def render(result: dict[str, Any], console: Console) -> None:
    ip, h = result["in_process"], result["http"]
    table = Table(title=f"guardrail benchmark (median \\[min-max] over {h['windows']} windows each, ABAB)")
    for col in ("measure", "candidate", "baseline", "ratio per pair"):
        table.add_column(col)
    base_ip, ck = ip["baseline_empty_call"], ip["check"]
    table.add_row("check() p50 µs", _cell(ck["p50_us"], 1, ".1f"), _cell(base_ip["p50_us"], 1, ".2f"), "")
    table.add_row("check() p99 µs", _cell(ck["p99_us"], 1, ".1f"), _cell(base_ip["p99_us"], 1, ".2f"),
                  _cell(ip["p99_ratio_to_baseline"], 1, ".0f"))
    c, b = h["check"], h["baseline_noop_endpoint"]
    table.add_row("HTTP server CPU ms / request", _cell(c["server_cpu_s_per_request"], 1e3, ".2f"),
                  _cell(b["server_cpu_s_per_request"], 1e3, ".2f"),
                  _cell(h["server_cpu_per_request_ratio_to_baseline"], 1, ".2f"))
    table.add_row("HTTP server req/s per core busy", _cell(c["server_req_per_s_per_core"], 1, ".0f"),
                  _cell(b["server_req_per_s_per_core"], 1, ".0f"), "")
    table.add_row("HTTP client-observed req/s", _cell(c["req_per_s"], 1, ".0f"), _cell(b["req_per_s"], 1, ".0f"),
                  _cell(h["throughput_ratio_to_baseline"], 1, ".2f"))
    table.add_row("HTTP client-observed p99 ms", _cell(c["p99_ms"], 1, ".1f"), _cell(b["p99_ms"], 1, ".1f"), "")
    table.add_row("HTTP server cores", _cell(c["server_cores"], 1, ".2f"), _cell(b["server_cores"], 1, ".2f"), "")
    table.add_row("HTTP client cores", _cell(c["client_cores"], 1, ".2f"), _cell(b["client_cores"], 1, ".2f"), "")
    table.add_row("other load on the machine, cores", _cell(c["other_cores"], 1, ".2f"),
                  _cell(b["other_cores"], 1, ".2f"), "")
    console.print(table)
    for side, d in (("check", c), ("no-op", b)):
        if d["client_bound_windows"]:
            console.print(f"[yellow]note[/]: {d['client_bound_windows']} of {h['windows']} {side} windows were "
                          f"client-bound (client >= {h['client_bound_at_cores']} core): their req/s is the "
                          "client's ceiling, not the server's; compare server CPU per request instead")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checks", type=int, default=20000, help="in-process calls per window")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per HTTP window")
    parser.add_argument("--repeats", type=int, default=MIN_REPEATS, help="windows per side (>= 3), alternated")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--serve-noop", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_noop:
        _serve_noop(args.serve_noop)
        return
    if args.repeats < MIN_REPEATS:
        parser.error(f"--repeats must be >= {MIN_REPEATS}")
    console = Console(width=max(Console().width, 140))
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    load_before = os.getloadavg()
    with Progress(*columns, console=console) as progress:
        in_process = bench_in_process(args.checks, args.repeats, progress)
        http = bench_http(args.seconds, args.repeats, args.concurrency, progress)
    result = {
        "benchmark": "guardrail",
        "command": "python -m bench.guardrail " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "load_avg_1_5_15": {"before": load_before, "after": os.getloadavg()},
        "in_process": in_process,
        "http": http,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    render(result, console)
    console.print(f"saved {args.out}")


if __name__ == "__main__":
    main()
