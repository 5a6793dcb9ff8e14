"""What the process-level chaos tests share: the testbed started as a process (on a given E2 port, to restart it
where its clients look for it) and a counter read from a process's Prometheus /metrics."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.xapps.slice_scheduler.procs import SCENARIO, start


def start_testbed(log: Path, seed: int, speedup: int, e2_port: int = 0) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """``python -m testbed.serve`` on the bundled scenario without shocks; returns once it is bound."""
    return start("testbed.serve", {
        "NEXTRIC_TESTBED_SCENARIO": str(SCENARIO), "NEXTRIC_TESTBED_SHOCKS": "none", "NEXTRIC_TESTBED_SEED": str(seed),
        "NEXTRIC_TESTBED_SPEEDUP": str(speedup), "NEXTRIC_TESTBED_E2__PORT": str(e2_port),
        "NEXTRIC_TESTBED_LOG__LEVEL": "WARNING"}, log)


def metric_total(port: int, name: str) -> float:
    """The sum of every sample named ``name`` on http://127.0.0.1:``port``/metrics."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(s.value for fam in text_string_to_metric_families(text) for s in fam.samples if s.name == name)
