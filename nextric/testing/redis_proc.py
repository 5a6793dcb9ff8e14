"""Start a real ``redis-server`` on a free loopback port and stop it again.

Used by the test suite and the benchmarks; never by the apps. Readiness is detected from the server's own
log line, not by sleeping.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nextric.errors import UnavailableError


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the kernel for a free TCP port on ``host`` (the port may be taken again before use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class RedisProcess:
    """A running ``redis-server`` child process."""

    proc: subprocess.Popen[bytes]
    host: str
    port: int
    workdir: Path

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def kill(self) -> None:
        """SIGKILL the server (crash test); data already fsynced to the AOF survives a restart."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_redis(
    workdir: Path,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    appendonly: bool = True,
    timeout_s: float = 15.0,
) -> RedisProcess:
    """Start ``redis-server`` in ``workdir`` (AOF with fsync always when ``appendonly``)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise UnavailableError("redis-server not found on PATH (make test installs it from Debian's packages)")
    workdir.mkdir(parents=True, exist_ok=True)
    for _attempt in range(5):
        chosen = port if port is not None else free_port(host)
        args = [
            binary,
            "--bind",
            host,
            "--port",
            str(chosen),
            "--dir",
            str(workdir),
            "--save",
            "",
            "--protected-mode",
            "yes",
            "--loglevel",
            "notice",
            "--appendonly",
            "yes" if appendonly else "no",
            "--appendfsync",
            "always",
        ]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        log: list[str] = []
        while time.monotonic() < deadline:
            raw = proc.stdout.readline()
            if not raw:
                break  # process exited
            line = raw.decode(errors="replace")
            log.append(line)
            if "Ready to accept connections" in line:
                proc.stdout.close()
                return RedisProcess(proc=proc, host=host, port=chosen, workdir=workdir)
        proc.kill()
        proc.wait(timeout=10)
        if port is not None or not any("Address already in use" in entry for entry in log):
            raise UnavailableError("redis-server did not start:\n" + "".join(log[-20:]))
    raise UnavailableError("redis-server could not find a free port after 5 attempts")


@contextmanager
def running_redis(workdir: Path, **kwargs: object) -> Iterator[RedisProcess]:
    """Context manager around :func:`start_redis`."""
    server = start_redis(workdir, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()
