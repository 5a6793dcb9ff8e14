"""Fixtures of the adapter tests (run in .venv-osc: `make osc-test`).

The RMR C library (librmr_si.so) is not installable here, so ``fake_rmrclib`` puts an in-process stand-in for
ricxappframe's private ``rmr.rmrclib.rmrclib`` module (the ctypes handle of the .so) into ``sys.modules`` before
ricxappframe is imported, exactly the module ricxappframe's own docs build mocks. Message handling is then
driven with ricxappframe's own RMR mocks (``ricxappframe.rmr.rmr_mocks``). Everything else is real: a real
``redis-server`` behind ricsdl, the real nextric policy service (started with the main venv's python) and a
real HTTP server standing in for the App Manager's registration endpoint.
"""

from __future__ import annotations

import ctypes
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "deploy" / "osc"))
RMR_CONSTANTS = {"RMR_MAX_RCV_BYTES": 65536, "RMRFL_MTCALL": 2, "RMRFL_NONE": 0, "RMR_OK": 0,
                 "RMR_ERR_NOENDPT": 2, "RMR_ERR_RETRY": 10, "RMR_ERR_TIMEOUT": 12, "RMR_MAX_XID": 32}
STATUS = {v: k for k, v in RMR_CONSTANTS.items() if k.startswith("RMR_ERR") or k == "RMR_OK"}


class _FakeCFunction:
    """Stands for one C function of librmr: callable, with ctypes' argtypes/restype attributes."""

    def __init__(self, name: str) -> None:
        self.name, self.argtypes, self.restype = name, None, None

    def __call__(self, *args: Any) -> Any:
        return {"rmr_init": 1, "rmr_ready": 1}.get(self.name, 0)


class _FakeLib:
    def __getattr__(self, name: str) -> _FakeCFunction:
        return _FakeCFunction(name)


def _install_fake_rmrclib() -> None:
    mod = types.ModuleType("ricxappframe.rmr.rmrclib.rmrclib")
    mod.rmr_c_lib = _FakeLib()  # type: ignore[attr-defined]
    mod.get_constants = lambda cache=None: dict(RMR_CONSTANTS)  # type: ignore[attr-defined]
    mod.state_to_status = lambda state: STATUS.get(state, "UNKNOWN")  # type: ignore[attr-defined]
    sys.modules["ricxappframe.rmr.rmrclib.rmrclib"] = mod


_install_fake_rmrclib()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--dir", str(workdir)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "Ready to accept connections" in line:
            break
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def policy_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real nextric policy service (main venv: NEXTRIC_MAIN_PYTHON, default .venv/bin/python)."""
    python = os.environ.get("NEXTRIC_MAIN_PYTHON", str(ROOT / ".venv" / "bin" / "python"))
    workdir = tmp_path_factory.mktemp("policy")
    port_file = workdir / "port"
    tokens = [{"name": "osc-adapter", "token": "op-token-0123456789abcdef", "roles": ["operator"]}]
    env = {**os.environ, "NEXTRIC_POLICY_PORT": "0", "NEXTRIC_POLICY_PORT_FILE": str(port_file),
           "NEXTRIC_POLICY_TOKENS": json.dumps(tokens), "NEXTRIC_POLICY_BACKEND": "memory",
           "NEXTRIC_POLICY_LOG_LEVEL": "WARNING"}
    log = (workdir / "policy.log").open("w")
    proc = subprocess.Popen([python, "-m", "policy"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not port_file.exists():
        assert proc.poll() is None, (workdir / "policy.log").read_text()
        assert time.monotonic() < deadline, "policy service did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{int(port_file.read_text())}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class AppManager:
    """Stands in for the App Manager's /ric/v1/register endpoint (the RIC platform is not here)."""

    def __init__(self) -> None:
        self.registrations: queue.Queue[dict[str, Any]] = queue.Queue()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.registrations.put({"path": self.path, "body": body})
                self.send_response(201)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def appmgr() -> Iterator[AppManager]:
    mgr = AppManager()
    try:
        yield mgr
    finally:
        mgr.server.shutdown()


class RmrWire:
    """What crosses RMR: messages the test delivers to the xApp, and what the xApp sends or returns."""

    def __init__(self) -> None:
        self.inbox: queue.Queue[tuple[int, bytes]] = queue.Queue()
        self.rts: queue.Queue[tuple[int, bytes]] = queue.Queue()
        self.sent: queue.Queue[tuple[int, bytes]] = queue.Queue()


@pytest.fixture
def rmr_wire(monkeypatch: pytest.MonkeyPatch) -> RmrWire:
    from ricxappframe.rmr import rmr
    from ricxappframe.rmr.rmr_mocks import rmr_mocks

    wire = RmrWire()
    rmr_mocks.patch_rmr(monkeypatch)  # alloc, payload, meid, src, free: ricxappframe's own mocks
    mocked_alloc = rmr.rmr_alloc_msg

    def alloc(vctx: Any = None, size: int = 0, *args: Any, **kwargs: Any) -> Any:
        return mocked_alloc(vctx, size, *args, **kwargs)  # rmr_send passes vctx=/size= by name; the mock can't

    monkeypatch.setattr(rmr, "rmr_alloc_msg", alloc)

    def torcv(_ctx: Any, sbuf: Any, timeout_ms: int) -> Any:
        try:
            mtype, payload = wire.inbox.get(timeout=min(timeout_ms, 50) / 1000.0)
        except queue.Empty:
            sbuf.contents.state = RMR_CONSTANTS["RMR_ERR_TIMEOUT"]
            return sbuf
        return rmr_mocks.rcv_mock_generator(payload, mtype, 0, jsonb=False)(None, sbuf)

    def rts(_ctx: Any, sbuf: Any, payload: bytes | None = None, mtype: int | None = None) -> Any:
        wire.rts.put((mtype if mtype is not None else sbuf.contents.mtype, payload or sbuf.contents.payload))
        return rmr_mocks.send_mock_generator(0)(None, sbuf)

    def send(_ctx: Any, sbuf: Any) -> Any:
        wire.sent.put((sbuf.contents.mtype, sbuf.contents.payload))
        return rmr_mocks.send_mock_generator(0)(None, sbuf)

    monkeypatch.setattr(rmr, "rmr_torcv_msg", torcv)
    monkeypatch.setattr(rmr, "rmr_rts_msg", rts)
    monkeypatch.setattr(rmr, "rmr_send_msg", send)
    monkeypatch.setattr(rmr, "get_xaction", lambda sbuf: sbuf.contents.xaction)
    monkeypatch.setattr(rmr, "rmr_set_vlevel", lambda *a: None, raising=False)
    _ = ctypes  # the real module would have loaded librmr_si.so through ctypes
    return wire
