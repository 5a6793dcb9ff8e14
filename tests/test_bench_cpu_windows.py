"""What the benchmarks' CPU figures rest on: another process's CPU read from /proc, the E2 loop's paced echo
baseline and its fell-behind warning, and the guardrail's server CPU per request over real HTTP."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from rich.progress import Progress

from bench import e2_loop, guardrail
from bench.timing import CpuMeter, CpuWindow, process_cpu_s

BUSY = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass\nprint(flush=True)\n" \
       "time.sleep(30)"
IDLE = "import time\nprint(flush=True)\ntime.sleep(30)"


def _cpu_after(code: str) -> float:
    """The CPU a child process used by the time it says it is done (its line on stdout)."""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        return process_cpu_s(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def test_another_process_cpu_is_read_from_proc() -> None:
    busy, idle = _cpu_after(BUSY), _cpu_after(IDLE)
    assert busy >= 0.38  # 0.4 s of its own CPU, read in clock ticks
    assert idle < 0.3  # the interpreter's start only
    with pytest.raises(FileNotFoundError):
        process_cpu_s(2**22 + 12345)  # above the kernel's pid_max: no such process


def test_cpu_meter_counts_cpu_not_sleep() -> None:
    meter = CpuMeter()
    meter.start()
    time.sleep(0.2)
    slept = meter.stop()
    meter.start()
    t = time.process_time()
    while time.process_time() - t < 0.2:
        pass
    spun = meter.stop()
    assert slept.cpu_s < 0.05  # sleeping costs wall time, not CPU
    assert spun.cpu_s >= 0.2
    # one thread: at most one core (less when the machine is shared); the CPU and wall clocks are read separately,
    # so allow their granularity (a few ms)
    assert spun.wall_s >= spun.cpu_s - 0.01
    assert slept.wall_s >= 0.2
    assert CpuWindow(cpu_s=1.0, wall_s=4.0).cores == 0.25


def _window(loops: int) -> e2_loop.LoopResult:
    return e2_loop.LoopResult(loops, 1.0, [1_000_000] * max(loops, 1), 500, 140, 140, CpuWindow(0.1, 1.0),
                              CpuWindow(0.2, 1.0), CpuWindow(1.5, 1.0))


def test_e2_windows_that_fell_behind_are_flagged() -> None:
    ok = e2_loop.summarise_windows([_window(100), _window(99), _window(100)], offered_per_s=100.0)
    assert ok["kept_up"]
    assert not e2_loop.fell_behind_warnings("ok", ok)
    behind = e2_loop.summarise_windows([_window(100), _window(30), _window(100)], offered_per_s=100.0)
    assert not behind["kept_up"]
    (warning,) = e2_loop.fell_behind_warnings("100 cells, paced E2", behind)
    assert "window 2" in warning
    assert "30.0/s of 100.0/s" in warning
    assert behind["achieved_ind_per_s"]["median"] == 100.0
    assert behind["achieved_ind_per_s"]["min"] == 30.0
    assert behind["server_cores"]["median"] == pytest.approx(0.1)
    assert behind["other_cores"]["median"] == pytest.approx(1.2)


def test_paced_echo_baseline_keeps_the_offered_rate_and_times_each_loop() -> None:
    sizes = _window(1)
    w = e2_loop.measure_echo(2, sizes, lockstep=False, duration_s=1.0, warmup_s=0.3)
    assert 17 <= w.loops <= 21  # 2 cells x 10 reports/s over 1 s
    assert len(w.latencies_ns) == w.loops
    assert 0 < min(w.latencies_ns) < 1e9
    assert 0.0 <= w.server_cpu.cores < 1.0
    assert w.server_cpu.wall_s == pytest.approx(1.0, abs=0.1)


def test_guardrail_http_reports_server_cpu_per_request() -> None:
    with Progress(disable=True) as progress:
        h = guardrail.bench_http(seconds=0.4, repeats=3, concurrency=4, progress=progress)
    for side in ("check", "baseline_noop_endpoint"):
        d = h[side]
        assert d["errors"] == 0
        assert d["requests"] > 0
        assert len(d["windows"]) == 3
        assert d["server_cpu_s_per_request"]["n"] == 3
        assert d["server_cpu_s_per_request"]["median"] > 0.0
        assert d["client_cores"]["median"] > 0.0
    # the check (auth, validation, guardrail, durable SQLite audit) costs the server more than a no-op endpoint
    assert h["server_cpu_per_request_ratio_to_baseline"]["median"] > 1.0
