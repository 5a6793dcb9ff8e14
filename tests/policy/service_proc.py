"""Run ``python -m policy`` as a real subprocess on port 0 and find it through its port file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass
class ServiceProcess:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill9(self) -> None:
        self.proc.kill()  # SIGKILL: no shutdown hooks, no flushing
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_service(
    workdir: Path, tokens: list[dict[str, object]], timeout_s: float = 30.0, **env: str
) -> ServiceProcess:
    """Start the service with ``NEXTRIC_POLICY_*`` settings from ``env``; wait until it answers ready."""
    workdir.mkdir(parents=True, exist_ok=True)
    port_file = workdir / f"port-{time.monotonic_ns()}"
    log = workdir / "service.log"
    full = dict(os.environ)
    full.update(
        {
            "NEXTRIC_POLICY_PORT": "0",
            "NEXTRIC_POLICY_PORT_FILE": str(port_file),
            "NEXTRIC_POLICY_TOKENS": json.dumps(tokens),
            "NEXTRIC_POLICY_LOG_LEVEL": "WARNING",
        }
    )
    full.update({f"NEXTRIC_POLICY_{k.upper()}": v for k, v in env.items()})
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "policy"], env=full, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"policy service exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        if port_file.exists() and port_file.read_text().strip():
            svc = ServiceProcess(proc, int(port_file.read_text()), log)
            try:
                if httpx.get(f"{svc.url}/ric/v1/health/ready", timeout=2.0).status_code == 200:
                    return svc
            except httpx.HTTPError:
                pass
        time.sleep(0.02)  # polling the port file / readiness probe against a deadline
    proc.kill()
    proc.wait(timeout=10)
    raise RuntimeError(f"policy service not ready in {timeout_s} s:\n{log.read_text()[-3000:]}")
