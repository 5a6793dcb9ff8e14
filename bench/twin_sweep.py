"""Twin sweep on workers: many candidate plans x seed groups rolled out in the digital twin, serial vs Ray.

The sweep: ``--candidates`` random PRB / transport share plans around the uniform split (N, K, C, S) x
``--seed-groups`` rollout seeds, each group :meth:`testbed.twin.DigitalTwin.rollout` with ``--twin-seeds``
exogenous seeds (common random numbers across candidates). Serial, as one would run it without workers: one
rollout of every candidate per seed group. On workers (:mod:`nextric.parallel`): each group's candidates cut into
chunks of ``--chunk``, one work item per (group, chunk), results put back in order. The twin draws its
exogenous futures per seed, never per candidate, so a chunk's rows are the very rows the whole batch gives: the
check is bit-identity of SCM, loss and p99 with the serial run.

Timing (:mod:`bench.timing`): Ray started and its workers warmed (one untimed sweep) before timing, its start-up
reported on its own; serial and Ray sweeps interleaved (S R S R ...), ``--repeats`` pairs, the speedup is
serial / Ray wall time per pair (median and spread). Utilisation: the workers' CPU seconds (measured inside each
item) over wall x workers. The CPU ceiling: the speedup the sweep's CPU seconds allow on an idle host (serial CPU
over the busiest worker's, :func:`cpu_ceiling`). The host's busy cores over each window and, less this
benchmark's own CPU, the cores other processes took (the 2-core hosts are shared), and the load average before
and after. Target: speedup >= 1.7 with 2 workers.

    python -m bench.twin_sweep [--quick] [--candidates 64] [--seed-groups 4] [--twin-seeds 4] [--chunk 32]
                               [--workers 2] [--repeats 5] [--process]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from bench.common import RESULTS_DIR, machine, save_results
from bench.timing import CpuMeter, Spread, Timing, interleaved
from nextric.parallel import ParallelSettings, WorkerPool
from testbed.core.engine import Emulator
from testbed.core.scenario import load_scenario
from testbed.core.shocks import ShockRegime
from testbed.core.types import FloatArray
from testbed.twin import DigitalTwin

TARGET_SPEEDUP = 1.7
PLAN_CONCENTRATION = 50.0  #: Dirichlet concentration per slice of the random plans (higher: nearer uniform)


@dataclass(frozen=True, eq=False)
class SweepJob:
    """One work item: candidates ``start`` .. ``start + len(prb)`` of seed group ``group``."""

    group: int
    start: int
    prb: FloatArray  #: (n, K, C, S)
    tn: FloatArray  #: (n, K, L, S)
    n_seeds: int
    seed: int


@dataclass(frozen=True, eq=False)
class ChunkResult:
    """A work item's rollout arrays, with the CPU and wall seconds it took on its worker (and which one)."""

    group: int
    start: int
    scm: FloatArray  #: (n, M)
    loss: FloatArray  #: (n, M, S)
    p99_ms: FloatArray  #: (n, M, S)
    cpu_s: float
    wall_s: float
    pid: int


@dataclass(frozen=True, eq=False)
class SweepArrays:
    """The sweep's outcome: (G, N, M) SCM and (G, N, M, S) loss and p99 (G seed groups, N candidates, M seeds)."""

    scm: FloatArray
    loss: FloatArray
    p99_ms: FloatArray

    def identical(self, other: SweepArrays) -> bool:
        return all(np.array_equal(a, b) for a, b in ((self.scm, other.scm), (self.loss, other.loss),
                                                    (self.p99_ms, other.p99_ms)))


@dataclass(frozen=True, eq=False)
class ChunkRollout:
    """The function the workers run (picklable: the twin travels with it, once per worker pool map)."""

    twin: DigitalTwin

    def __call__(self, job: SweepJob) -> ChunkResult:
        c0, t0 = time.process_time(), time.perf_counter()
        r = self.twin.rollout(job.prb, job.tn, n_seeds=job.n_seeds, seed=job.seed)
        return ChunkResult(job.group, job.start, r.scm, r.loss, r.p99_ms, time.process_time() - c0,
                           time.perf_counter() - t0, os.getpid())


def sweep_jobs(prb: FloatArray, tn: FloatArray, seeds: Sequence[int], n_seeds: int, chunk: int) -> list[SweepJob]:
    """Work items: every seed group's candidates in chunks of ``chunk`` (the last one shorter)."""
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    n = len(prb)
    return [SweepJob(g, i, prb[i:i + chunk], tn[i:i + chunk], n_seeds, s)
            for g, s in enumerate(seeds) for i in range(0, n, chunk)]


def assemble(results: Sequence[ChunkResult], n_groups: int) -> SweepArrays:
    """The (G, N, ...) arrays from the work items' results (in :func:`sweep_jobs` order)."""
    by_group: list[list[ChunkResult]] = [[] for _ in range(n_groups)]
    for r in results:
        by_group[r.group].append(r)
    for rows in by_group:
        rows.sort(key=lambda r: r.start)

    def stack(field: str) -> FloatArray:
        return np.stack([np.concatenate([getattr(r, field) for r in rows]) for rows in by_group])

    return SweepArrays(stack("scm"), stack("loss"), stack("p99_ms"))


def serial_sweep(twin: DigitalTwin, prb: FloatArray, tn: FloatArray, seeds: Sequence[int], n_seeds: int
                 ) -> SweepArrays:
    """The reference: one rollout of every candidate per seed group, in this process."""
    rs = [twin.rollout(prb, tn, n_seeds=n_seeds, seed=s) for s in seeds]
    return SweepArrays(np.stack([r.scm for r in rs]), np.stack([r.loss for r in rs]), np.stack([r.p99_ms for r in rs]))


def twin_sweep(twin: DigitalTwin, prb: FloatArray, tn: FloatArray, seeds: Sequence[int], n_seeds: int,
               pool: WorkerPool, chunk: int, progress: Progress | None = None) -> tuple[SweepArrays, list[ChunkResult]]:
    """The sweep on ``pool``'s workers: the arrays (identical to :func:`serial_sweep`) and the items' results."""
    results = pool.map(ChunkRollout(twin), sweep_jobs(prb, tn, seeds, n_seeds, chunk), progress,
                       f"twin sweep on {pool.settings.backend}")
    return assemble(results, len(seeds)), results


def sweep_setup(n_candidates: int, scenario: str = "twm_poc", seed: int = 0) -> tuple[DigitalTwin, FloatArray,
                                                                                       FloatArray]:
    """A twin built from three slow steps of the emulator's KPM, and ``n_candidates`` random share plans around
    the uniform split (per cell / link and slow step, Dirichlet with :data:`PLAN_CONCENTRATION` per slice)."""
    sc = load_scenario(scenario)
    regime = ShockRegime.parse("hotspot-ID")
    emu = Emulator(sc, regime, seed=seed, nmse_obs=2)
    reports = []
    for _ in range(3):
        emu.step_slow()
        reports.append(emu.read_kpm())
    twin = DigitalTwin.from_observations(sc, reports, regime, emu.link_up, seed=seed + 1)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 20]))
    k = sc.timing.slow_per_horizon
    alpha = np.full(sc.n_slices, PLAN_CONCENTRATION)
    prb = rng.dirichlet(alpha, size=(n_candidates, k, sc.n_cells))
    tn = rng.dirichlet(alpha, size=(n_candidates, k, sc.n_links))
    return twin, prb, tn


class _Window:
    """A timed callable that also meters the host's busy cores, this process's CPU and, for a pool, its workers'
    CPU seconds (reported by the items): what the host did besides this benchmark is the rest."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.walls: list[float] = []
        self.host_cores: list[float] = []
        self.other_cores: list[float] = []
        self.worker_cpu_s: list[float] = []
        self.own_cpu_s: list[float] = []
        self.busiest_worker_cpu_s: list[float] = []
        self.pids: set[int] = set()

    def __call__(self) -> None:
        host, own = CpuMeter.host(), CpuMeter()
        host.start()
        own.start()
        out = self.fn()
        o, h = own.stop(), host.stop()
        workers = sum(r.cpu_s for r in out) if isinstance(out, list) else 0.0
        self.walls.append(h.wall_s)
        self.host_cores.append(h.cores)
        self.other_cores.append(max(0.0, h.cores - (o.cpu_s + workers) / max(h.wall_s, 1e-12)))
        self.own_cpu_s.append(o.cpu_s)
        if isinstance(out, list):
            per_pid: dict[int, float] = {}
            for r in out:
                per_pid[r.pid] = per_pid.get(r.pid, 0.0) + r.cpu_s
            self.worker_cpu_s.append(workers)
            self.busiest_worker_cpu_s.append(max(per_pid.values()))
            self.pids |= set(per_pid)


def _summary(t: Timing, w: _Window, workers: int) -> dict[str, Any]:
    d = t.as_dict()
    # the windows' last ``repeats`` calls are the timed ones (the first is interleaved's warm-up)
    n = t.wall_s.n
    d["host_cores_busy"] = Spread.of(w.host_cores[-n:]).as_dict()
    d["other_processes_cores"] = Spread.of(w.other_cores[-n:]).as_dict()
    if w.worker_cpu_s:
        d["worker_cpu_s"] = Spread.of(w.worker_cpu_s[-n:]).as_dict()
        d["worker_utilisation"] = float(sum(w.worker_cpu_s[-n:]) / (sum(w.walls[-n:]) * workers))
        d["worker_pids"] = len(w.pids)
        d["busiest_worker_cpu_s"] = Spread.of(w.busiest_worker_cpu_s[-n:]).as_dict()
    return d


def cpu_ceiling(serial_cpu_s: float, driver_cpu_s: float, worker_cpu_s: float, busiest_worker_cpu_s: float,
                workers: int, cores: int) -> float:
    """The speedup the sweep's CPU allows on an otherwise idle host: serial CPU over the parallel sweep's critical
    path (its busiest worker's CPU, or all its CPU spread over the cores, whichever is longer)."""
    return serial_cpu_s / max(busiest_worker_cpu_s, (driver_cpu_s + worker_cpu_s) / min(workers, cores), 1e-12)


def run(n_cand: int, n_groups: int, n_seeds: int, chunk: int, workers: int, repeats: int, with_process: bool,
        console: Console) -> dict[str, Any]:
    load0 = os.getloadavg()
    twin, prb, tn = sweep_setup(n_cand)
    seeds = list(range(n_groups))
    ref = serial_sweep(twin, prb, tn, seeds, n_seeds)
    serial = _Window(lambda: serial_sweep(twin, prb, tn, seeds, n_seeds))
    out: dict[str, Any] = {"bench": "twin_sweep", "machine": machine(), "load_avg_before": list(load0),
                           "sweep": {"scenario": twin.scenario.name, "candidates": n_cand, "seed_groups": n_groups,
                                     "twin_seeds_per_group": n_seeds, "chunk": chunk, "rollouts": n_cand * n_groups
                                     * n_seeds, "work_items": len(sweep_jobs(prb, tn, seeds, n_seeds, chunk)),
                                     "horizon_slow_steps": int(prb.shape[1])},
                           "workers": workers, "repeats": repeats, "target_speedup": TARGET_SPEEDUP, "backends": {}}
    backends = ["ray", *(["process"] if with_process else [])]
    with Progress(console=console, transient=True) as prog:
        for backend in backends:
            settings = ParallelSettings.of(backend, workers, os.environ)
            with WorkerPool(settings) as pool:
                t0 = time.perf_counter()
                first, _ = twin_sweep(twin, prb, tn, seeds, n_seeds, pool, chunk, prog)
                cold_s = time.perf_counter() - t0
                got: list[SweepArrays] = [first]

                def on_pool(pool: WorkerPool = pool, got: list[SweepArrays] = got) -> list[ChunkResult]:
                    arrays, results = twin_sweep(twin, prb, tn, seeds, n_seeds, pool, chunk)
                    got.append(arrays)
                    return results

                cand = _Window(on_pool)
                task = prog.add_task(f"serial vs {backend}: {repeats} interleaved pairs", total=None)
                a, b, ratio = interleaved(serial, cand, repeats=repeats, warmup=1)
                prog.remove_task(task)
                speedup = Spread.of([1.0 / r for r in [bw / aw for aw, bw in zip(serial.walls[-repeats:],
                                                                                   cand.walls[-repeats:],
                                                                                   strict=True)]])
                ceiling = cpu_ceiling(a.cpu_s.median, b.cpu_s.median, float(np.median(cand.worker_cpu_s[-repeats:])),
                                      float(np.median(cand.busiest_worker_cpu_s[-repeats:])), pool.workers,
                                      os.cpu_count() or 1)
                out["backends"][backend] = {
                    "speedup_cpu_ceiling_idle_host": ceiling,
                    "startup_s": pool.startup_s, "first_sweep_s (cold workers)": cold_s,
                    "serial": _summary(a, serial, 1), "parallel": _summary(b, cand, pool.workers),
                    "wall_ratio_parallel_over_serial": ratio.as_dict(), "speedup": speedup.as_dict(),
                    "identical_to_serial": all(g.identical(ref) for g in got), "sweeps_checked": len(got),
                    "address": settings.address or "local"}
            for xs in (serial.walls, serial.host_cores, serial.other_cores):
                xs.clear()
    out["load_avg_after"] = list(os.getloadavg())
    r = out["backends"]["ray"]
    out["met"] = {"speedup_ge_target": r["speedup"]["median"] >= TARGET_SPEEDUP,
                  "identical_to_serial": r["identical_to_serial"]}
    return out


def render(res: dict[str, Any], console: Console) -> None:
    sw = res["sweep"]
    t = Table(title=f"twin sweep: {sw['candidates']} plans x {sw['seed_groups']} seed groups x "
                    f"{sw['twin_seeds_per_group']} seeds ({sw['rollouts']} rollouts, {sw['work_items']} items), "
                    f"{res['workers']} workers, {res['repeats']} interleaved pairs")
    for c in ("backend", "serial s (med)", "parallel s (med)", "speedup med [min, max]", "CPU ceiling", "worker util",
              "other procs' cores (serial / parallel)", "start-up s", "identical"):
        t.add_column(c, justify="right")
    for name, b in res["backends"].items():
        sp = b["speedup"]
        t.add_row(name, f"{b['serial']['wall_s']['median']:.2f}", f"{b['parallel']['wall_s']['median']:.2f}",
                  f"{sp['median']:.2f} [{sp['min']:.2f}, {sp['max']:.2f}]", f"{b['speedup_cpu_ceiling_idle_host']:.2f}",
                  f"{b['parallel'].get('worker_utilisation', float('nan')):.2f}",
                  f"{b['serial']['other_processes_cores']['median']:.2f} / "
                  f"{b['parallel']['other_processes_cores']['median']:.2f}", f"{b['startup_s']:.1f}",
                  str(b["identical_to_serial"]))
    console.print(t)
    console.print(f"load average before {res['load_avg_before']} after {res['load_avg_after']}; target speedup "
                  f">= {res['target_speedup']}: {'met' if res['met']['speedup_ge_target'] else 'NOT met'}")


def plot(res: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(res["backends"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    x = np.arange(len(names))
    for off, key, label in ((-0.2, "serial", "serial"), (0.2, "parallel", f"{res['workers']} workers")):
        med = np.array([res["backends"][n][key]["wall_s"]["median"] for n in names])
        lo = med - np.array([res["backends"][n][key]["wall_s"]["min"] for n in names])
        hi = np.array([res["backends"][n][key]["wall_s"]["max"] for n in names]) - med
        axes[0].bar(x + off, med, 0.4, yerr=[lo, hi], capsize=4, label=label)
    axes[0].set(xticks=x, xticklabels=names, ylabel="wall s per sweep (median, min-max)", title="sweep wall time")
    axes[0].legend()
    sp = [res["backends"][n]["speedup"] for n in names]
    axes[1].bar(x, [s["median"] for s in sp], 0.5,
                yerr=[[s["median"] - s["min"] for s in sp], [s["max"] - s["median"] for s in sp]], capsize=4)
    axes[1].axhline(res["target_speedup"], color="k", ls=":", label=f"target {res['target_speedup']}")
    axes[1].axhline(res["workers"], color="grey", ls="--", lw=0.8, label="ideal")
    axes[1].set(xticks=x, xticklabels=names, ylabel="serial / parallel (per interleaved pair)", title="speedup")
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(prog="python -m bench.twin_sweep", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="16 plans x 2 groups, chunks of 4, 3 pairs (smoke run)")
    ap.add_argument("--candidates", type=int, default=64)
    ap.add_argument("--seed-groups", type=int, default=4)
    ap.add_argument("--twin-seeds", type=int, default=4)
    ap.add_argument("--chunk", type=int, default=32, help="candidates per work item")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5, help="interleaved serial/parallel pairs (>= 3)")
    ap.add_argument("--process", action="store_true", help="also the process-pool backend (same sweep)")
    ap.add_argument("--out", type=Path, default=RESULTS_DIR / "twin_sweep.json")
    a = ap.parse_args(argv)
    if min(a.candidates, a.seed_groups, a.twin_seeds, a.chunk, a.workers) < 1 or a.repeats < 3:
        ap.error("sizes and --workers must be >= 1, --repeats >= 3")
    n, g, c, rep = (16, 2, 4, 3) if a.quick else (a.candidates, a.seed_groups, a.chunk, a.repeats)
    console = Console(width=max(Console().width, 130))
    res = run(n, g, a.twin_seeds, c, a.workers, rep, a.process, console)
    res["command"] = "python -m bench.twin_sweep" + (" --quick" if a.quick else
                                                    f" --candidates {n} --seed-groups {g} --twin-seeds "
                                                    f"{a.twin_seeds} --chunk {c} --workers {a.workers} "
                                                    f"--repeats {rep}") + (" --process" if a.process else "")
    render(res, console)
    path = save_results(a.out.stem, res, a.out.parent)
    png = plot(res, path.with_suffix(".png"))
    console.print(f"saved {path} and {png}")
    return res


if __name__ == "__main__":
    main()
