"""Guardrail benchmark: in-process ``check`` latency (p50/p99, µs) and HTTP check throughput (req/s).

Each number comes with a baseline measured in the same run: an empty function call for the in-process
latency, a no-op FastAPI endpoint on the same uvicorn for HTTP throughput. Results are printed and saved to
``bench/results/guardrail.json``.

    python -m bench.guardrail [--checks 20000] [--seconds 5] [--concurrency 16] [--out PATH]
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


def _time_calls(
    fn: Callable[[Action, Context], object], actions: list[Action], ctx: Context, n: int, progress: Progress, label: str
) -> list[int]:
    task = progress.add_task(label, total=n)
    out: list[int] = []
    clock = time.perf_counter_ns
    for i in range(n):
        a = actions[i % len(actions)]
        t0 = clock()
        fn(a, ctx)
        out.append(clock() - t0)
        if i % 1000 == 999:
            progress.advance(task, 1000)
    progress.update(task, completed=n)
    return out


def bench_in_process(n: int, progress: Progress) -> dict[str, Any]:
    actions, ctx = _scenario()

    def noop(a: Action, c: Context) -> None:
        return None

    def guard(a: Action, c: Context) -> Verdict:
        return check(a, c)

    for a in actions:  # warm-up
        guard(a, ctx)
    base = _percentiles(_time_calls(noop, actions, ctx, n, progress, "baseline: empty call"))
    real = _percentiles(_time_calls(guard, actions, ctx, n, progress, "in-process check()"))
    decisions = sorted({guard(a, ctx).decision.value for a in actions})
    return {
        "checks": n,
        "check": real,
        "baseline_empty_call": base,
        "decisions_in_mix": decisions,
        "p99_ratio_to_baseline": real["p99_us"] / max(base["p99_us"], 1e-9),
        "p99_under_1ms": real["p99_us"] < 1000.0,
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


async def _drive(
    url: str, path: str, headers: dict[str, str], seconds: float, concurrency: int, progress: Progress, label: str
) -> dict[str, Any]:
    body = {
        "action": {
            "kind": "slice_prb_quota",
            "cellId": "c1",
            "policies": [
                {"member": {"sst": 1, "sd": "000001"}, "minPrbRatio": 30, "maxPrbRatio": 80, "dedicatedPrbRatio": 10}
            ],
        }
    }
    task = progress.add_task(label, total=seconds)
    done = 0
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30.0) as client:
        start = time.perf_counter()
        end = start + seconds

        async def worker() -> None:
            nonlocal done, errors
            while time.perf_counter() < end:
                r = await client.post(path, json=body)
                if r.status_code == 200:
                    done += 1
                else:
                    errors += 1

        async def ticker() -> None:
            while time.perf_counter() < end:
                progress.update(task, completed=min(seconds, time.perf_counter() - start))
                await asyncio.sleep(0.1)

        await asyncio.gather(ticker(), *(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    progress.update(task, completed=seconds)
    return {"requests": done, "errors": errors, "seconds": round(elapsed, 3), "req_per_s": done / elapsed}


def bench_http(seconds: float, concurrency: int, progress: Progress) -> dict[str, Any]:
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
            base = asyncio.run(
                _drive(
                    f"http://127.0.0.1:{noop_port}",
                    "/noop",
                    {},
                    seconds,
                    concurrency,
                    progress,
                    "baseline: no-op FastAPI endpoint",
                )
            )
        finally:
            noop.terminate()
            noop.wait(timeout=10)
        svc, port = _spawn([sys.executable, "-m", "policy"], env, tmp_path / "policy.port")
        try:
            real = asyncio.run(
                _drive(
                    f"http://127.0.0.1:{port}",
                    "/guardrail/v1/check",
                    {"Authorization": f"Bearer {token}"},
                    seconds,
                    concurrency,
                    progress,
                    "HTTP /guardrail/v1/check (SQLite audit, durable)",
                )
            )
        finally:
            svc.terminate()
            svc.wait(timeout=10)
    return {
        "concurrency": concurrency,
        "check": real,
        "baseline_noop_endpoint": base,
        "throughput_ratio_to_baseline": real["req_per_s"] / max(base["req_per_s"], 1e-9),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checks", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--serve-noop", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_noop:
        _serve_noop(args.serve_noop)
        return
    console = Console()
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        in_process = bench_in_process(args.checks, progress)
        http = bench_http(args.seconds, args.concurrency, progress)
    result = {
        "benchmark": "guardrail",
        "command": "python -m bench.guardrail " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "in_process": in_process,
        "http": http,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    table = Table(title="guardrail benchmark")
    for col in ("measure", "value", "baseline", "ratio"):
        table.add_column(col)
    ip, h = in_process, http
    table.add_row(
        "check() p50 µs",
        f"{ip['check']['p50_us']:.1f}",
        f"{ip['baseline_empty_call']['p50_us']:.2f}",
        f"{ip['check']['p50_us'] / max(ip['baseline_empty_call']['p50_us'], 1e-9):.0f}x",
    )
    table.add_row(
        "check() p99 µs",
        f"{ip['check']['p99_us']:.1f}",
        f"{ip['baseline_empty_call']['p99_us']:.2f}",
        f"{ip['p99_ratio_to_baseline']:.0f}x",
    )
    table.add_row(
        "HTTP check req/s",
        f"{h['check']['req_per_s']:.0f}",
        f"{h['baseline_noop_endpoint']['req_per_s']:.0f}",
        f"{h['throughput_ratio_to_baseline']:.2f}",
    )
    console.print(table)
    console.print(f"saved {args.out}")


if __name__ == "__main__":
    main()
