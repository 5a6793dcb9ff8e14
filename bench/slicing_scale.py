"""Slice-scheduler scale-out: 1 vs 3 replicas (real processes) against a real testbed process serving a synthetic
city, over real gRPC E2 and a real Redis SDL (membership and consistent-hash sharding of the E2 nodes).

For each replica count and each offered load (the testbed's speed-up: ``cells x speedup`` KPM indications per
second, one per cell per simulated second), after the ring has settled and a warm-up: ``repeats`` windows, each
scraping every process's Prometheus ``/metrics`` and ``/proc`` CPU counters at its ends, giving

* offered: KPM indications the testbed published, ``cells x`` its simulated seconds per wall second (read off a
  probe subscription's indication headers), and those the replicas missed (sequence gaps: dropped on full
  outboxes of a replica too slow to read them);
* achieved: indications the replicas fully handled (decided in a batched round, controls acknowledged:
  ``nextric_slice_scheduler_indications``), with :func:`bench.timing.offered_vs_achieved`;
* latency: p99 from an indication's arrival to its round's controls acknowledged (queueing included), and p99
  of the decision round itself (allocator + guardrail), read off the windows' histogram deltas;
* CPU: per process, CPU seconds per wall second (1.0 = one core), and the machine's cores.

The capacity of a configuration is the highest achieved rate among the loads it kept up with (median over the
windows); the scale-out figure is capacity(3) / capacity(1) with both p99s beside it. Every figure is the median
of its windows with their spread.

    python -m bench.slicing_scale [--quick] [--cells 300] [--speedups 1 2 4 8] [--repeats 3] [--window-s 6]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import yaml
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench import testbed_speed
from bench.common import RESULTS_DIR, machine, save_results
from bench.timing import Spread, offered_vs_achieved
from nextric.e2.client import E2Client
from nextric.e2.errors import E2Failure
from nextric.e2.settings import E2ClientSettings
from nextric.e2.v1 import e2ap_pb2
from nextric.testing.redis_proc import RedisProcess, start_redis

CLK_TCK = os.sysconf("SC_CLK_TCK")
SCHED = "nextric_slice_scheduler_"


# ---------------------------------------------------------------------------------------------- processes


def city_yaml(n_cells: int, path: Path) -> Path:
    """The synthetic city of :func:`bench.testbed_speed.synthetic_city` as a scenario file."""
    path.write_text(yaml.safe_dump(testbed_speed.synthetic_city_doc(n_cells), sort_keys=False))
    return path


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[str]
    info: dict[str, Any]

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.info['http_port']}/metrics"

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)


def start(name: str, module: str, env: dict[str, str], log: Path, timeout_s: float = 120.0) -> Proc:
    """``python -m module``; returns once it printed the JSON line with its ports."""
    err = log.open("a")
    popen = subprocess.Popen([sys.executable, "-m", module], env={**os.environ, **env}, stdout=subprocess.PIPE,
                             stderr=err, text=True)
    assert popen.stdout is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = popen.stdout.readline()
        if not line:
            break
        if line.startswith("{"):
            return Proc(name, popen, json.loads(line))
    popen.kill()
    raise RuntimeError(f"{module} did not report its ports:\n{log.read_text()[-3000:]}")


class ClockProbe:
    """The testbed's simulated clock as the network sees it: a KPM subscription to one node (its own E2 client, on
    a thread), keeping the last indication's simulated time. ``cells x`` simulated seconds per wall second is the
    offered indication rate (every node reports once per simulated control period of 1 s)."""

    def __init__(self, e2_port: int) -> None:
        self.e2_port = e2_port
        self.last: tuple[float, float] | None = None  #: (perf_counter, simulated s) of the latest indication
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()

    async def _run(self) -> None:
        settings = E2ClientSettings(target=f"127.0.0.1:{self.e2_port}", ric_requestor_id=4242, rpc_timeout_s=30.0)
        async with E2Client(settings) as client:
            nodes: list[e2ap_pb2.E2NodeInfo] = []
            while not nodes and not self._stop.is_set():  # an overloaded testbed may miss a deadline
                with contextlib.suppress(E2Failure):
                    nodes = await client.list_nodes()
            if not nodes:
                return
            stream = client.subscribe(nodes[0].node_id, e2ap_pb2.REPORT_STYLE_KPM, 1000)
            try:
                async for ind in stream:
                    self.last = (time.perf_counter(), ind.header.sim_time_ms / 1000.0)
                    if self._stop.is_set():
                        break
            finally:
                await stream.aclose()

    def sim_s(self) -> float:
        """Simulated seconds now, extrapolated from the last indication at the rate of none (a lower bound)."""
        if self.last is None:
            return float("nan")
        return self.last[1]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Prometheus text -> {sample name: [(labels, value)]}."""
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for fam in text_string_to_metric_families(httpx.get(url, timeout=10).text):
        for s in fam.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def total(m: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for lb, v in m.get(name, []) if all(lb.get(k) == x for k, x in labels.items()))


def buckets(m: dict[str, list[tuple[dict[str, str], float]]], name: str) -> dict[float, float]:
    return {float(lb["le"]): v for lb, v in m.get(name + "_bucket", [])}


def quantile(delta: dict[float, float], q: float) -> float:
    """Quantile of a histogram's bucket counts (cumulative, by upper bound), linear within a bucket (seconds)."""
    bounds = sorted(delta)
    n = delta[bounds[-1]] if bounds else 0.0
    if n <= 0:
        return float("nan")
    rank, lo, prev = q * n, 0.0, 0.0
    for b in bounds:
        c = delta[b]
        if c >= rank:
            if np.isinf(b):
                return lo
            return lo + (b - lo) * (rank - prev) / max(c - prev, 1e-12)
        lo, prev = b, c
    return lo


# ---------------------------------------------------------------------------------------------- one point


@dataclass
class Snapshot:
    t: float
    cpu: dict[str, float]
    sim_s: float
    gaps: float
    handled: float
    ind_hist: dict[float, float]
    dec_hist: dict[float, float]
    cells: float
    rounds: float


def snapshot(testbed: Proc, replicas: Sequence[Proc], clock: ClockProbe) -> Snapshot:
    t = time.perf_counter()
    cpu = {p.name: p.cpu_s() for p in (testbed, *replicas)}
    sim_s = clock.sim_s()
    ms = [scrape(p.metrics_url) for p in replicas]
    ind: dict[float, float] = {}
    dec: dict[float, float] = {}
    for m in ms:
        for k, v in buckets(m, SCHED + "indication_seconds").items():
            ind[k] = ind.get(k, 0.0) + v
        for k, v in buckets(m, SCHED + "decision_seconds").items():
            dec[k] = dec.get(k, 0.0) + v
    return Snapshot(t, cpu, sim_s, sum(total(m, "nextric_e2_client_sequence_gaps_total") for m in ms),
                    sum(total(m, SCHED + "indications_total") for m in ms), ind, dec,
                    sum(total(m, SCHED + "round_cells_sum") for m in ms),
                    sum(total(m, SCHED + "round_cells_count") for m in ms))


@dataclass
class Window:
    wall_s: float
    offered_per_s: float
    dropped_per_s: float
    achieved_per_s: float
    indication_p99_ms: float
    decision_p99_ms: float
    cells_per_round: float
    cpu_cores: dict[str, float] = field(default_factory=dict)


def window(a: Snapshot, b: Snapshot, n_cells: int) -> Window:
    dt = b.t - a.t
    ind = {k: b.ind_hist.get(k, 0.0) - a.ind_hist.get(k, 0.0) for k in b.ind_hist}
    dec = {k: b.dec_hist.get(k, 0.0) - a.dec_hist.get(k, 0.0) for k in b.dec_hist}
    rounds = b.rounds - a.rounds
    return Window(dt, n_cells * (b.sim_s - a.sim_s) / dt, (b.gaps - a.gaps) / dt, (b.handled - a.handled) / dt,
                  1e3 * quantile(ind, 0.99), 1e3 * quantile(dec, 0.99),
                  (b.cells - a.cells) / rounds if rounds else float("nan"),
                  {k: (b.cpu[k] - a.cpu[k]) / dt for k in b.cpu})


def settle(replicas: Sequence[Proc], n_cells: int, timeout_s: float = 180.0) -> float:
    """Wait until the replicas see each other and own every node exactly once between them; seconds taken."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        ms = [scrape(p.metrics_url) for p in replicas]
        owned = sum(total(m, SCHED + "assigned_nodes") for m in ms)
        seen = [total(m, SCHED + "replicas") for m in ms]
        if owned == n_cells and all(s == len(replicas) for s in seen):
            return time.monotonic() - t0
        time.sleep(0.5)
    raise RuntimeError(f"the ring did not settle in {timeout_s} s")


def run_point(n_replicas: int, speedup: float, city: Path, n_cells: int, repeats: int, window_s: float,
              warmup_s: float, workdir: Path) -> dict[str, Any]:
    """One configuration at one offered load: fresh Redis, testbed and replicas; ``repeats`` windows."""
    with ExitStack() as stack:
        redis: RedisProcess = start_redis(workdir / "redis", appendonly=False)
        stack.callback(redis.stop)
        testbed = start("testbed", "testbed.serve", {
            "NEXTRIC_TESTBED_SCENARIO": str(city), "NEXTRIC_TESTBED_SHOCKS": "hotspot-ID",
            "NEXTRIC_TESTBED_SEED": "7", "NEXTRIC_TESTBED_SPEEDUP": str(speedup),
            "NEXTRIC_TESTBED_LOG__LEVEL": "WARNING"}, workdir / "testbed.log")
        stack.callback(testbed.stop)
        replicas = []
        for i in range(n_replicas):
            p = start(f"replica-{i}", "xapps.slice_scheduler", {
                "NEXTRIC_XAPP_SLICE_E2__TARGET": f"127.0.0.1:{testbed.info['e2_port']}",
                "NEXTRIC_XAPP_SLICE_SDL__BACKEND": "redis", "NEXTRIC_XAPP_SLICE_SDL__REDIS_URL": redis.url,
                "NEXTRIC_XAPP_SLICE_SHARD__INSTANCE_ID": f"replica-{i}", "NEXTRIC_XAPP_SLICE_SHARD__HEARTBEAT_S": "0.5",
                "NEXTRIC_XAPP_SLICE_NODE_REFRESH_S": "1.0", "NEXTRIC_XAPP_SLICE_LOG__LEVEL": "WARNING"},
                workdir / f"replica-{i}.log")
            stack.callback(p.stop)
            replicas.append(p)
        clock = ClockProbe(int(testbed.info["e2_port"]))
        stack.callback(clock.close)
        settle_s = settle(replicas, n_cells)
        time.sleep(warmup_s)
        windows = []
        a = snapshot(testbed, replicas, clock)
        for _ in range(repeats):
            time.sleep(window_s)
            b = snapshot(testbed, replicas, clock)
            windows.append(window(a, b, n_cells))
            a = b
    achieved = Spread.of([w.achieved_per_s for w in windows])
    offered = Spread.of([w.offered_per_s for w in windows])
    cpu_names = list(windows[0].cpu_cores)
    cpu = {k: Spread.of([w.cpu_cores[k] for w in windows]).median for k in cpu_names}
    replica_cpu = sum(v for k, v in cpu.items() if k.startswith("replica"))
    rate = offered_vs_achieved(offered.median, achieved.median)
    return {
        "replicas": n_replicas, "speedup": speedup, "settle_s": settle_s,
        "offered_per_s": offered.as_dict(), "achieved_per_s": achieved.as_dict(),
        "dropped_per_s": Spread.of([w.dropped_per_s for w in windows]).as_dict(),
        "indication_p99_ms": Spread.of([w.indication_p99_ms for w in windows]).as_dict(),
        "decision_p99_ms": Spread.of([w.decision_p99_ms for w in windows]).as_dict(),
        "cells_per_round": Spread.of([w.cells_per_round for w in windows]).as_dict(),
        "rate": rate.as_dict(),
        "cpu_cores": cpu, "replicas_cpu_cores": replica_cpu,
        "machine_utilisation": sum(cpu.values()) / (os.cpu_count() or 1),
        "indications_per_replica_cpu_s": achieved.median / max(replica_cpu, 1e-9),
        "windows": [w.__dict__ for w in windows],
    }


# ---------------------------------------------------------------------------------------------- report


def _brief(p: dict[str, Any]) -> dict[str, Any]:
    return {"offered_per_s": p["offered_per_s"]["median"], "achieved_per_s": p["achieved_per_s"]["median"],
            "indication_p99_ms": p["indication_p99_ms"]["median"], "decision_p99_ms": p["decision_p99_ms"]["median"],
            "replicas_cpu_cores": p["replicas_cpu_cores"], "testbed_cpu_cores": p["cpu_cores"]["testbed"],
            "kept_up": p["rate"]["kept_up"]}


def summarise(points: list[dict[str, Any]], replicas: Sequence[int]) -> dict[str, Any]:
    """Per replica count: the highest achieved rate among the loads it kept up with (``kept_up``), the highest at
    any load (``saturated``: its throughput when it falls behind); the ratios of the largest count to the smallest;
    the CPU cost per indication of a replica and of the testbed, and the ceilings they set on this machine."""
    out: dict[str, Any] = {}
    best: dict[int, dict[str, Any]] = {}
    for n in replicas:
        sel = [p for p in points if p["replicas"] == n and np.isfinite(p["achieved_per_s"]["median"])]
        kept = [p for p in sel if p["rate"]["kept_up"]]
        row: dict[str, Any] = {"kept_up": None, "saturated": None}
        if kept:
            row["kept_up"] = _brief(max(kept, key=lambda p: p["achieved_per_s"]["median"]))
        if sel:
            sat = max(sel, key=lambda p: p["achieved_per_s"]["median"])
            row["saturated"] = _brief(sat)
            best[n] = sat
        out[str(n)] = row
    lo, hi = min(replicas), max(replicas)
    ratios: dict[str, Any] = {"replicas": [lo, hi], "target": 2.5}
    for kind in ("kept_up", "saturated"):
        a, b = out.get(str(lo), {}).get(kind), out.get(str(hi), {}).get(kind)
        ratios[kind] = None if not a or not b or hi == lo else b["achieved_per_s"] / max(a["achieved_per_s"], 1e-9)
    ratios["met"] = any(r is not None and r >= 2.5 for r in (ratios["kept_up"], ratios["saturated"]))
    busy = [p for p in points if p["achieved_per_s"]["median"] > 0 and p["replicas_cpu_cores"] > 0]
    per_replica = float(np.median([p["indications_per_replica_cpu_s"] for p in busy])) if busy else float("nan")
    tb = [p["achieved_per_s"]["median"] / p["cpu_cores"]["testbed"] for p in busy if p["cpu_cores"]["testbed"] > 0]
    per_testbed = float(np.median(tb)) if tb else float("nan")
    cores = os.cpu_count() or 1
    used = [p["machine_utilisation"] * cores for p in points]
    out["scale_out"] = ratios
    out["cpu"] = {
        "cores": cores,
        "indications_per_replica_cpu_s": per_replica,
        "indications_per_testbed_cpu_s": per_testbed,
        "max_cores_used_by_bench_processes": max(used) if used else float("nan"),
        "ceiling_note": (
            f"a replica handles ~{per_replica:.0f} indications per CPU-second and the testbed (one process) publishes "
            f"and acknowledges ~{per_testbed:.0f} per CPU-second: with one core each, 1 replica is capped near "
            f"min({per_replica:.0f}, {per_testbed:.0f})/s and 3 replicas can add at most what the cores left after "
            f"the testbed give them ({cores} cores here, shared with other work: the bench processes used at most "
            f"{max(used) if used else float('nan'):.2f} cores). Showing 3 replicas >= 2.5x one needs >= 3 free cores "
            f"for the replicas and a testbed that offers >= {2.5 * per_replica:.0f}/s (about "
            f"{2.5 * per_replica / max(per_testbed, 1e-9):.1f} cores of testbed work: more than its one process "
            f"can do), i.e. a machine with >= {3 + int(np.ceil(2.5 * per_replica / max(per_testbed, 1e-9)))} cores "
            f"and a sharded testbed"),
    }
    return out


def print_summary(console: Console, summary: dict[str, Any]) -> None:
    r = summary["scale_out"]
    for kind in ("kept_up", "saturated"):
        lo, hi = (summary[str(n)][kind] for n in r["replicas"])
        if r[kind] is not None:
            console.print(f"{kind}: {r['replicas'][1]} vs {r['replicas'][0]} replica(s): {r[kind]:.2f}x "
                          f"({hi['achieved_per_s']:.0f} vs {lo['achieved_per_s']:.0f} indications/s; p99 "
                          f"{hi['indication_p99_ms']:.0f} vs {lo['indication_p99_ms']:.0f} ms; target 2.5x)")
    console.print(summary["cpu"]["ceiling_note"])


def plot(points: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for n in sorted({p["replicas"] for p in points}):
        sel = sorted((p for p in points if p["replicas"] == n), key=lambda p: p["speedup"])  # in order of load
        off = [p["offered_per_s"]["median"] for p in sel]
        ach = [p["achieved_per_s"]["median"] for p in sel]
        err = [[a - p["achieved_per_s"]["min"] for a, p in zip(ach, sel, strict=True)],
               [p["achieved_per_s"]["max"] - a for a, p in zip(ach, sel, strict=True)]]
        axes[0].errorbar(off, ach, yerr=err, marker="o", capsize=3, label=f"{n} replica(s)")
        axes[1].plot(off, [p["indication_p99_ms"]["median"] for p in sel], marker="o", label=f"{n} replica(s)")
        axes[2].plot(off, [p["replicas_cpu_cores"] for p in sel], marker="o", label=f"{n} replica(s): replicas")
        axes[2].plot(off, [p["cpu_cores"]["testbed"] for p in sel], marker="x", ls="--", label=f"{n}: testbed")
    hi = max((p["offered_per_s"]["median"] for p in points if np.isfinite(p["offered_per_s"]["median"])), default=1.0)
    axes[0].plot([0, hi], [0, hi], color="grey", ls=":", label="achieved = offered")
    axes[0].set_title("indications/s handled vs offered")
    axes[1].set_title("p99 indication -> controls acked (ms)")
    axes[1].set_yscale("log")
    axes[2].set_title(f"CPU cores used (machine: {os.cpu_count()})")
    for ax in axes:
        ax.set_xlabel("offered KPM indications/s")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="2 loads, 3 windows of 3 s")
    ap.add_argument("--cells", type=int, default=300)
    ap.add_argument("--replicas", type=int, nargs="+", default=[1, 3])
    ap.add_argument("--speedups", type=float, nargs="+", default=None, help="testbed x real time, one load each")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--window-s", type=float, default=6.0)
    ap.add_argument("--warmup-s", type=float, default=4.0)
    ap.add_argument("--out", type=Path, default=RESULTS_DIR / "slicing_scale.json")
    ap.add_argument("--summarise", type=Path, default=None, help="recompute the summary of a saved result, run nothing")
    args = ap.parse_args(argv)
    if args.summarise is not None:
        saved = json.loads(args.summarise.read_text())
        saved["summary"] = summarise(saved["points"], sorted({p["replicas"] for p in saved["points"]}))
        print_summary(Console(width=160), saved["summary"])
        args.summarise.write_text(json.dumps(saved, indent=2) + "\n")
        plot(saved["points"], args.summarise.with_suffix(".png"))
        return 0
    speedups = args.speedups or ([1.0, 4.0] if args.quick else [0.5, 1.0, 2.0, 4.0])
    repeats = max(3, args.repeats)
    window_s, warmup_s = (3.0, 3.0) if args.quick else (args.window_s, args.warmup_s)
    console = Console(width=160)
    t0 = time.perf_counter()
    points: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    jobs = [(n, s) for n in args.replicas for s in speedups]
    cols = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with tempfile.TemporaryDirectory(prefix="slicing_scale_") as tmp, Progress(*cols, console=console) as progress:
        city = city_yaml(args.cells, Path(tmp) / f"grid{args.cells}.yaml")
        task = progress.add_task(f"replicas x load ({args.cells} cells)", total=len(jobs))
        for k, (n, s) in enumerate(jobs):
            progress.update(task, description=f"{n} replica(s), {s:g}x real time")
            try:
                points.append(run_point(n, s, city, args.cells, repeats, window_s, warmup_s, Path(tmp) / f"p{k}"))
            except (RuntimeError, httpx.HTTPError) as exc:  # an overloaded point: recorded, the sweep goes on
                failed.append({"replicas": n, "speedup": s, "error": str(exc)[-500:]})
                console.print(f"[red]{n} replica(s) at {s:g}x failed: {str(exc)[-300:]}")
            progress.advance(task)
    table = Table(title=f"slice scheduler scale-out, {args.cells} cells, {os.cpu_count()} cores (medians of "
                  f"{repeats} windows)")
    for col in ("replicas", "offered/s", "achieved/s", "kept up", "missed/s", "p99 ind. ms", "p99 round ms",
                "cells/round", "CPU testbed", "CPU replicas", "ind. per replica CPU-s"):
        table.add_column(col, justify="right")
    for p in points:
        table.add_row(str(p["replicas"]), f"{p['offered_per_s']['median']:.0f}", f"{p['achieved_per_s']['median']:.0f}",
                      "yes" if p["rate"]["kept_up"] else "no", f"{p['dropped_per_s']['median']:.0f}",
                      f"{p['indication_p99_ms']['median']:.1f}", f"{p['decision_p99_ms']['median']:.1f}",
                      f"{p['cells_per_round']['median']:.0f}", f"{p['cpu_cores']['testbed']:.2f}",
                      f"{p['replicas_cpu_cores']:.2f}", f"{p['indications_per_replica_cpu_s']:.0f}")
    console.print(table)
    for p in points:
        if p["rate"]["warning"]:
            console.print(f"[yellow]{p['replicas']} replica(s) at {p['speedup']:g}x: {p['rate']['warning']}")
    if not points:
        console.print("[red]no point could be measured")
        return 1
    summary = summarise(points, args.replicas)
    print_summary(console, summary)
    payload = {
        "bench": "slicing_scale",
        "command": "python -m bench.slicing_scale" + (" --quick" if args.quick else "")
        + f" --cells {args.cells} --replicas {' '.join(map(str, args.replicas))} --speedups "
        + " ".join(f"{s:g}" for s in speedups) + f" --repeats {repeats}",
        "machine": machine(),
        "wall_s": time.perf_counter() - t0,
        "offered": "KPM indications the testbed published: cells x its simulated seconds per wall second (one per "
                   "cell per simulated second); missed = the replicas' E2 sequence gaps",
        "achieved": "indications fully handled by the replicas (batched round decided, controls acknowledged)",
        "summary": summary,
        "points": points,
        "failed_points": failed,
    }
    path = save_results(args.out.stem, payload, args.out.parent)
    plot(points, path.with_suffix(".png"))
    console.print(f"saved {path} and {path.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
