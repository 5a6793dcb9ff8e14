"""The main job end to end: the closed-loop demo over real E2 gRPC on loopback."""

from __future__ import annotations

import json
from pathlib import Path

from suite.demo import run_demo


def test_demo_closed_loop_keeps_slas_better_than_static(tmp_path: Path) -> None:
    assert run_demo(seconds=180, seed=7, out=tmp_path) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    static, loop = report["legs"]["static"], report["legs"]["closed loop"]
    assert loop["controls"] == 180 * 10  # one control per cell per 1 s report
    assert static["scm"] == 0.0  # the uniform split breaks an SLA in this scenario
    assert loop["scm"] > 0.3
    assert loop["slices"]["URLLC"]["p99_ms"] < 20.0
    assert (tmp_path / "kpis.png").stat().st_size > 10_000
