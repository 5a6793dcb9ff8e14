"""Every line a component writes is one JSON object, without ANSI escape codes: real processes, real stdout + stderr.

The processes run with ``$HOME`` on a regular file, as in a container whose user has no writable home: that is
where onnxruntime, imported by the beam predictor, printed an ANSI-coloured "Failed to persist telemetry device
ID" warning before any nextric code ran.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from nextric.obs.logging import JsonFormatter

ROOT = Path(__file__).resolve().parents[2]
ANSI = ("\x1b", "\\u001b")  # raw, or escaped inside a JSON string

#: module, environment, whether /ric/v1/health/ready turns 200 (the beam predictor's E2 node never answers)
COMPONENTS: dict[str, tuple[str, dict[str, str], bool]] = {
    "policy": ("policy", {"NEXTRIC_POLICY_BACKEND": "memory", "NEXTRIC_POLICY_PORT": "0",
                          "NEXTRIC_POLICY_TOKENS": json.dumps([{"name": "noc", "token": "t" * 32,
                                                                "roles": ["operator"]}])}, True),
    "beam_predictor": ("xapps.beam_predictor", {"NEXTRIC_XAPP_BEAM_HTTP__PORT": "0",
                                                "NEXTRIC_XAPP_BEAM_E2__TARGET": "127.0.0.1:9",
                                                "NEXTRIC_XAPP_BEAM_LOG__LEVEL": "DEBUG"}, False),
}


def lines_of(path: Path) -> list[str]:
    return [x for x in path.read_text(encoding="utf-8", errors="replace").splitlines() if x.strip()]


def announced(path: Path, proc: subprocess.Popen[bytes], timeout_s: float = 60.0) -> dict[str, Any]:
    """The start-up line ``{"http_port": ...}`` of the process writing to ``path``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in lines_of(path):
            if '"http_port"' in line and '"level"' not in line:
                return dict(json.loads(line))
        assert proc.poll() is None, f"exited with {proc.returncode}:\n{path.read_text()[-3000:]}"
        time.sleep(0.1)  # the process is starting: polling its output against a deadline
    raise AssertionError(f"no start-up line in {timeout_s} s:\n{path.read_text()[-3000:]}")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_every_output_line_is_a_json_object(name: str, tmp_path: Path) -> None:
    module, settings, readies = COMPONENTS[name]
    home = tmp_path / "home"
    home.write_text("not a directory: nothing can be persisted under $HOME\n")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "HOME": str(home), **settings}
    out = tmp_path / f"{name}.out"
    with out.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", module], env=env, cwd=tmp_path, stdout=sink,
                                stderr=subprocess.STDOUT)
    try:
        port = int(announced(out, proc)["http_port"])
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5.0) as http:
            assert http.get("/ric/v1/health/alive").status_code == 200
            assert http.get("/metrics").status_code == 200
            assert http.get("/no/such/path").status_code == 404
            deadline = time.monotonic() + 30
            while readies and http.get("/ric/v1/health/ready").status_code != 200:
                assert time.monotonic() < deadline, f"{name} not ready:\n{out.read_text()[-3000:]}"
                time.sleep(0.1)
    finally:
        proc.terminate()  # SIGTERM, as Kubernetes and Docker stop a container
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    lines = lines_of(out)
    assert any('"level"' in x for x in lines), f"{name} wrote no log record:\n{out.read_text()[-3000:]}"
    for line in lines:
        assert not any(a in line for a in ANSI), f"{name}: ANSI escape code in {line!r}"
        try:
            record = json.loads(line)
        except ValueError:
            pytest.fail(f"{name}: not a JSON line: {line!r}")
        assert isinstance(record, dict), f"{name}: not a JSON object: {line!r}"
        if "level" in record:
            assert {"ts", "level", "app", "logger", "msg"} <= set(record), line


def test_log_records_keep_their_fields_and_lose_ansi_duplicates() -> None:
    try:
        raise ValueError("bad value")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("nextric.test", logging.ERROR, __file__, 1, "failed on %s", ("c1",), exc_info)
    record.cell = "00101-000000101"
    record.color_message = "failed on \x1b[36m%s\x1b[0m"  # what uvicorn adds to its records
    line = JsonFormatter("policy").format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["ts"] == round(record.created, 6)
    assert (data["level"], data["app"], data["logger"], data["msg"]) == ("error", "policy", "nextric.test",
                                                                         "failed on c1")
    assert data["cell"] == "00101-000000101"
    assert "ValueError: bad value" in data["exc"]
    assert "color_message" not in data
