"""Start the testbed and the slice scheduler as real processes on loopback (port 0, ports read from stdout)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SCENARIO = "ran_limited"  # bundled in testbed/scenarios: the PoC city with 20 MHz cells, 10x transport


def start(
    module: str, env: dict[str, str], log: Path, timeout_s: float = 60.0
) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """Run ``python -m module``; return it with the JSON line it prints once bound."""
    full = {**os.environ, **env}
    err = log.open("a")
    proc = subprocess.Popen([sys.executable, "-m", module], env=full, stdout=subprocess.PIPE, stderr=err, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()  # blocks until the process prints (or exits: "")
        if not line:
            break
        if line.startswith("{"):
            return proc, json.loads(line)
    proc.kill()
    raise RuntimeError(f"{module} did not report its ports:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
