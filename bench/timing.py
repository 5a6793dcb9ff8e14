"""How every benchmark times things: warm-up, at least three repeats, median and spread, CPU utilisation, and
baseline/candidate windows interleaved so that a noisy neighbour slows both alike.

The shared 2-core hosts vary by +-30 % run to run, so a figure is only reported with its spread, and a
comparison only as a ratio of windows measured side by side (ABAB...), one ratio per pair.

    t = timed(lambda: work(), repeats=5, warmup=1)          # -> Timing
    a, b, r = interleaved(baseline, candidate, repeats=5)   # -> Timing, Timing, Spread of b/a per pair
    rate = offered_vs_achieved(offered_per_s=1000, achieved_per_s=990)  # kept_up flag + warning text
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

MIN_REPEATS = 3


@dataclass(frozen=True)
class Spread:
    """Median and spread of repeated samples (same unit as the samples)."""

    n: int
    median: float
    min: float
    max: float
    q1: float
    q3: float

    @staticmethod
    def of(samples: Sequence[float]) -> Spread:
        if len(samples) == 0:
            raise ValueError("no samples")
        a = np.asarray(samples, dtype=np.float64)
        q1, med, q3 = np.percentile(a, [25, 50, 75])
        return Spread(int(a.size), float(med), float(a.min()), float(a.max()), float(q1), float(q3))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Timing:
    """Wall seconds per repeat, and the process's CPU utilisation over the repeats (CPU s / wall s / cores)."""

    wall_s: Spread
    cpu_s: Spread
    utilisation: float
    cores: int

    def as_dict(self) -> dict[str, Any]:
        return {"wall_s": self.wall_s.as_dict(), "cpu_s": self.cpu_s.as_dict(),
                "utilisation": self.utilisation, "cores": self.cores}


def _cpu_s(children: bool) -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    cpu = own.ru_utime + own.ru_stime
    if children:
        ch = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu += ch.ru_utime + ch.ru_stime
    return cpu


def _one(fn: Callable[[], object], children: bool) -> tuple[float, float]:
    c0, t0 = _cpu_s(children), time.perf_counter()
    fn()
    return time.perf_counter() - t0, _cpu_s(children) - c0


def _timing(walls: list[float], cpus: list[float]) -> Timing:
    cores = os.cpu_count() or 1
    util = sum(cpus) / max(sum(walls), 1e-12) / cores
    return Timing(Spread.of(walls), Spread.of(cpus), float(util), cores)


def timed(fn: Callable[[], object], repeats: int = MIN_REPEATS, warmup: int = 1,
          children: bool = False) -> Timing:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` (>= 3) timed times."""
    if repeats < MIN_REPEATS:
        raise ValueError(f"repeats must be >= {MIN_REPEATS}, got {repeats}")
    for _ in range(warmup):
        fn()
    walls, cpus = zip(*(_one(fn, children) for _ in range(repeats)), strict=True)
    return _timing(list(walls), list(cpus))


def interleaved(baseline: Callable[[], object], candidate: Callable[[], object], repeats: int = MIN_REPEATS,
                warmup: int = 1, children: bool = False) -> tuple[Timing, Timing, Spread]:
    """Baseline and candidate windows alternated (A B A B ..., each warmed up first); returns both timings and
    the spread of candidate/baseline wall-time ratios, one per pair."""
    if repeats < MIN_REPEATS:
        raise ValueError(f"repeats must be >= {MIN_REPEATS}, got {repeats}")
    for _ in range(warmup):
        baseline()
        candidate()
    a_w, a_c, b_w, b_c = [], [], [], []
    for _ in range(repeats):
        w, c = _one(baseline, children)
        a_w.append(w)
        a_c.append(c)
        w, c = _one(candidate, children)
        b_w.append(w)
        b_c.append(c)
    ratios = [b / a for a, b in zip(a_w, b_w, strict=True)]
    return _timing(a_w, a_c), _timing(b_w, b_c), Spread.of(ratios)


@dataclass(frozen=True)
class Rate:
    offered_per_s: float
    achieved_per_s: float
    kept_up: bool
    warning: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def offered_vs_achieved(offered_per_s: float, achieved_per_s: float, tolerance: float = 0.95) -> Rate:
    """Whether the system kept up with the offered load (achieved >= ``tolerance`` x offered); when it did not,
    a warning that says so, to print beside (and save with) every latency figure measured at that load."""
    kept = achieved_per_s >= tolerance * offered_per_s
    warning = None if kept else (
        f"fell behind: achieved {achieved_per_s:.1f}/s of {offered_per_s:.1f}/s offered "
        f"({achieved_per_s / max(offered_per_s, 1e-12):.0%}); latencies at this load are queueing, not service")
    return Rate(float(offered_per_s), float(achieved_per_s), bool(kept), warning)


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system, all threads) that process ``pid`` has used so far, read from
    ``/proc/<pid>/stat``; the difference of two reads around a window is a server's CPU for that window."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()  # the command name may hold spaces and parentheses
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5), counted from "state" = 3
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuWindow:
    """One process's CPU over one wall-clock window: ``cores`` = CPU s / wall s (1.0 = one core busy)."""

    cpu_s: float
    wall_s: float

    @property
    def cores(self) -> float:
        return self.cpu_s / max(self.wall_s, 1e-12)


def host_cpu_s() -> float:
    """CPU seconds the whole machine has been busy (all cores: user, nice, system, irq, softirq, steal), from the
    first line of ``/proc/stat``; over a window, minus the benchmark's own processes, it is the other load."""
    first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in first[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Reads a process's CPU (``pid``, or this process with ``pid=None``) at ``start`` and ``stop``;
    :meth:`host` meters the whole machine instead."""

    def __init__(self, pid: int | None = None) -> None:
        self.pid = pid
        self._read: Callable[[], float] = time.process_time if pid is None else (lambda: process_cpu_s(pid))
        self._cpu0 = 0.0
        self._t0 = 0.0

    @classmethod
    def host(cls) -> CpuMeter:
        meter = cls()
        meter._read = host_cpu_s
        return meter

    def start(self) -> None:
        self._cpu0, self._t0 = self._read(), time.perf_counter()

    def stop(self) -> CpuWindow:
        return CpuWindow(self._read() - self._cpu0, time.perf_counter() - self._t0)
