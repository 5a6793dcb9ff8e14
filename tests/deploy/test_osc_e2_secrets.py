"""An xApp installed by the O-RAN SC App Manager against an E2 port that requires a token over TLS (the oran-sc
overlay's testbed): the descriptor cannot carry a secret (docs/deploy.md, "E2 tokens and TLS for App Manager
xApps"), so the xApp starts from the chart's environment alone, is not ready and says why (the CA missing: no
connection; the token missing: which setting to give); with what the documented patch adds (the token file, the CA
file, the server name) it is ready. Real processes: the testbed (port 0, tokens.json + TLS from tools/certs.py), a
redis-server as DBAAS, the CE selector as ``python -m``."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nextric.testing.redis_proc import RedisProcess
from tests.deploy.common import ROOT
from tests.deploy.test_osc_onboarding import TESTBED_SCENARIO, XAPPS, chart_environment, descriptor
from tests.xapps.slice_scheduler.procs import start, stop
from tools import certs

XAPP = "ce-selector"
TOKEN = secrets.token_urlsafe(24)


@pytest.fixture(scope="module")
def secure_testbed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, certs.Issued, Path]]:
    """The testbed serving E2 only over TLS and only to the CE selector's token: (port, certificates, token file)."""
    folder = tmp_path_factory.mktemp("secure-testbed")
    issued = certs.issue(folder / "tls", certs.server_names(), days=1)
    grants = folder / "tokens.json"
    grants.write_text(json.dumps([{"name": XAPP, "token": TOKEN, "roles": ["kpm", "control"]}]))
    token_file = folder / "token"
    token_file.write_text(TOKEN + "\n")
    proc, ports = start("testbed.serve", {
        "NEXTRIC_TESTBED_SCENARIO": TESTBED_SCENARIO, "NEXTRIC_TESTBED_SPEEDUP": "5",
        "NEXTRIC_TESTBED_LOG__LEVEL": "WARNING", "NEXTRIC_TESTBED_E2__TOKENS_FILE": str(grants),
        "NEXTRIC_TESTBED_E2__TLS_CERT_FILE": str(issued.server_cert),
        "NEXTRIC_TESTBED_E2__TLS_KEY_FILE": str(issued.server_key)}, folder / "testbed.log", timeout_s=90)
    try:
        yield int(ports["e2_port"]), issued, token_file
    finally:
        stop(proc)


def _readiness(env: dict[str, str], workdir: Path, want: int, timeout_s: float = 60.0) -> httpx.Response:
    """Start the xApp with ``env``; its readiness answer once it is ``want`` (or the last one after the timeout)."""
    log = (workdir / "xapp.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", XAPPS[XAPP]["module"]], env=env, cwd=workdir,
                            stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("{"), f"{XAPP} did not start:\n{(workdir / 'xapp.log').read_text()[-3000:]}"
        with httpx.Client(base_url=f"http://127.0.0.1:{json.loads(line)['http_port']}", timeout=5.0) as http:
            deadline = time.monotonic() + timeout_s
            ready = http.get("/ric/v1/health/ready")
            while ready.status_code != want and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.5)
                ready = http.get("/ric/v1/health/ready")
            return ready
    finally:
        stop(proc)
        log.close()


@pytest.mark.slow
def test_an_app_manager_xapp_needs_the_patched_secrets(secure_testbed: tuple[int, certs.Issued, Path],
                                                        redis_server: RedisProcess, tmp_path: Path) -> None:
    port, issued, token_file = secure_testbed
    prefix = XAPPS[XAPP]["env_prefix"]
    base = chart_environment(descriptor(XAPP), tmp_path, redis_server)
    base |= {f"{prefix}HTTP__PORT": "0", f"{prefix}E2__TARGET": f"127.0.0.1:{port}",
             "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT)}
    # as installed: no CA, no token (the descriptor has neither): not ready, the E2 side names the failure
    ready = _readiness(base, tmp_path, 200, timeout_s=8.0)
    assert ready.status_code == 503, ready.text
    assert ready.json()["components"]["e2"]["ready"] is False, ready.text
    # the CA and the server name (docs' patch), still no token: not ready, and the reason says what to set
    tls = {f"{prefix}E2__TLS_CA_FILE": str(issued.ca_cert), f"{prefix}E2__TLS_SERVER_NAME": "nextric-testbed"}
    ready = _readiness(base | tls, tmp_path, 200, timeout_s=15.0)
    assert ready.status_code == 503, ready.text
    detail = ready.json()["components"]["e2"]["detail"]
    assert "carried none" in detail, detail
    assert "E2__TOKEN_FILE" in detail, detail
    # the whole patch: ready
    ready = _readiness(base | tls | {f"{prefix}E2__TOKEN_FILE": str(token_file)}, tmp_path, 200)
    assert ready.status_code == 200, ready.text
