"""Onboarding on the O-RAN SC near-RT RIC, checked with the platform's own rules rather than a likeness of them.

(a) Every xApp descriptor (deploy/xapps/<name>/) passes the O-RAN SC onboarder's schema, the real one
    (``../shared/reference/osc-xapp-descriptor-schema.json`` from the project root, never a copy in the project),
    with ``controls`` validated by the app's ``schema.json`` as the onboarder substitutes it; broken descriptors fail.
(b) Each xApp starts from the environment the onboarder's standard xApp chart (xapp-std) gives its pod and nothing
    else: DBAAS_SERVICE_HOST/PORT (the ``dbaas-appconfig`` ConfigMap), RMR_*, XAPP_DESCRIPTOR_PATH and the
    descriptor's ``appenv`` (the ``-appenv`` ConfigMap), the descriptor mounted as ``config-file.json`` in
    XAPP_DESCRIPTOR_PATH; plus PATH and PYTHONPATH to run the interpreter. The dependencies are real processes: a
    redis-server (the session fixture of tests/conftest.py) stands in for the platform's DBAAS, the testbed's gRPC
    E2 server (``python -m testbed.serve`` on port 0) for the E2 side. Then ``/ric/v1/health/alive``,
    ``/ric/v1/health/ready`` and ``/metrics`` answer 200.

    Install-time overrides, the same an operator would pass as chart values, and only these: the xApp's HTTP port
    (``<PREFIX>HTTP__PORT``, the chart fixes 8080; 0 here, so that the kernel picks a free port and the app prints
    it), its E2 target (``<PREFIX>E2__TARGET``, a cluster service name in the descriptor; the test's testbed here),
    and the chart's ``appconfig.path`` (the descriptor's mount folder, /opt/ric/config by default; a temporary
    folder here, so CONFIG_FILE is the same file under it). The slice scheduler keeps the descriptor's policy URL,
    which does not resolve here: an xApp must start without the policy service.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from nextric.descriptor import default_schema_path, validate
from nextric.errors import ConfigError
from nextric.testing.redis_proc import RedisProcess
from tests.deploy.common import ROOT, components
from tests.xapps.slice_scheduler.procs import start, stop
from tools.deploycheck import compose

XAPPS = {name: c for name, c in components().items() if c.get("xapp")}
APPCONFIG_PATH = "/opt/ric/config"  #: xapp-std values.yaml ``appconfig.path``: where the descriptor is mounted
NAMESPACE = "ricxapp"
TESTBED_SCENARIO = "ran_limited_wide_b"  #: wide Set B (the beam predictor's committed model), BEAM + PILOT reports


@pytest.fixture(scope="module")
def schema() -> Path:
    """The onboarder's schema where the project's tests reach it; a clear failure when it is not there."""
    try:
        return default_schema_path(ROOT)
    except ConfigError as exc:
        pytest.fail(str(exc))


def descriptor(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((ROOT / "deploy" / "xapps" / XAPPS[name]["descriptor"] / "config-file.json")
                                     .read_text())
    return doc


# --- (a) the onboarder's schema -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(XAPPS))
def test_descriptor_passes_the_onboarder_schema(name: str, schema: Path) -> None:
    assert validate(ROOT / "deploy" / "xapps" / XAPPS[name]["descriptor"], schema) == []


def _broken(tmp_path: Path, name: str, change: Any, with_controls_schema: bool = True) -> list[str]:
    src = ROOT / "deploy" / "xapps" / XAPPS[name]["descriptor"]
    config = json.loads((src / "config-file.json").read_text())
    change(config)
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    (folder / "config-file.json").write_text(json.dumps(config))
    if with_controls_schema:
        (folder / "schema.json").write_text((src / "schema.json").read_text())
    elif (folder / "schema.json").exists():
        (folder / "schema.json").unlink()
    return validate(folder, default_schema_path(ROOT))


def test_broken_descriptors_fail_the_onboarder_schema(tmp_path: Path, schema: Path) -> None:
    def metrics_as_a_list(c: dict[str, Any]) -> None:  # what the descriptors had before: the schema wants an object
        c["metrics"] = [{"objectName": "x", "objectInstance": "y", "name": "z", "type": "counter", "description": "d"}]

    def messages_without_policies(c: dict[str, Any]) -> None:
        c["messaging"]["ports"][1].pop("policies")

    def bad_control(c: dict[str, Any]) -> None:
        c["controls"]["control_period_ms"] = 5  # schema.json: minimum 100

    def bad_image_and_version(c: dict[str, Any]) -> None:
        c["containers"][0]["image"].pop("tag")
        c["containers"][0]["image"]["registry"] = "not a registry"
        c["version"] = "1.0"
        c["livenessProbe"].pop("periodSeconds")

    def port_of_no_container(c: dict[str, Any]) -> None:  # the project's convention, beyond the schema
        c["messaging"]["ports"][0]["container"] = "sidecar"
        c["messaging"]["ports"][2]["port"] = 70000

    cases = {
        metrics_as_a_list: ["metrics: [{", "is not of type 'object'"],
        messages_without_policies: ["messaging/ports/1: 'policies' is a dependency of 'rxMessages'"],
        bad_control: ["controls/control_period_ms: 5 is less than the minimum of 100"],
        bad_image_and_version: ["'tag' is a required property", "containers/0/image/registry", "version: '1.0'",
                                "livenessProbe"],
        port_of_no_container: ["unknown container 'sidecar'", "70000 is no TCP port"],
    }
    for change, expected in cases.items():
        problems = "\n".join(_broken(tmp_path, "slice-scheduler", change))
        for text in expected:
            assert text in problems, f"{change.__name__}: {text!r} not in\n{problems}"
    # without the app's schema.json the onboarder keeps its placeholder, which no real descriptor satisfies
    problems = "\n".join(_broken(tmp_path, "slice-scheduler", lambda c: None, with_controls_schema=False))
    assert "'__empty_control_section__' is a required property" in problems


def test_a_missing_schema_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="descriptor schema is not at"):
        default_schema_path(tmp_path / "project")
    with pytest.raises(ConfigError, match="not found"):
        validate(ROOT / "deploy" / "xapps" / "slice_scheduler", tmp_path / "nowhere.json")


# --- (b) the standard chart's environment -------------------------------------------------------------------------


def chart_environment(config: dict[str, Any], mount: Path, dbaas: RedisProcess) -> dict[str, str]:
    """The environment the xapp-std chart gives the xApp's container, with ``appconfig.path`` = ``mount`` (the
    descriptor written there as config-file.json): the ``dbaas-appconfig`` ConfigMap, the chart's RMR variables and
    XAPP_DESCRIPTOR_PATH, then the descriptor's ``appenv`` (string values; paths under the default mount folder
    follow it)."""
    name = config["name"]
    (mount / "config-file.json").write_text(json.dumps(config))
    env = {
        "DBAAS_SERVICE_HOST": dbaas.host,
        "DBAAS_SERVICE_PORT": str(dbaas.port),
        "RMR_SEED_RT": f"{mount}/uta-rtg.rt",
        "RMR_SRC_ID": f"service-{NAMESPACE}-{name}-rmr.{NAMESPACE}",
        "RMR_RTG_SVC": "4561",
        "XAPP_DESCRIPTOR_PATH": str(mount),
    }
    for key, value in config.get("appenv", {}).items():
        text = str(value)
        env[key] = str(mount) + text[len(APPCONFIG_PATH):] if text.startswith(APPCONFIG_PATH + "/") else text
    return env


@pytest.mark.parametrize("name", sorted(XAPPS))
def test_appenv_is_what_the_app_needs(name: str) -> None:
    """The descriptor's ``appenv``: string values (the chart quotes them), CONFIG_FILE at the chart's mount, the HTTP
    listener where the chart's probes look, an E2 target, and otherwise only settings of the app."""
    config, comp = descriptor(name), XAPPS[name]
    prefix = comp["env_prefix"]
    appenv = config["appenv"]
    assert all(isinstance(v, str) for v in appenv.values()), appenv
    assert appenv["CONFIG_FILE"] == f"{APPCONFIG_PATH}/config-file.json"
    assert appenv[f"{prefix}HTTP__HOST"] == "0.0.0.0"
    assert int(appenv[f"{prefix}HTTP__PORT"]) == config["readinessProbe"]["httpGet"]["port"] == comp["http_port"]
    assert appenv[f"{prefix}E2__TARGET"]
    cls = compose.settings_class(comp["module"], prefix)
    assert cls is not None
    assert compose.unknown_env_names(cls, prefix, [k for k in appenv if k.startswith(prefix)]) == []
    assert [k for k in appenv if not k.startswith(prefix)] == ["CONFIG_FILE"]


@pytest.mark.parametrize("name", sorted(XAPPS))
def test_settings_come_from_the_chart_environment(name: str, tmp_path: Path, redis_server: RedisProcess,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """In process: the settings built from that environment alone carry the descriptor's controls, SDL on the DBAAS
    address (apps with SDL); the app's own variables still win over both."""
    config, comp = descriptor(name), XAPPS[name]
    prefix = comp["env_prefix"]
    cls = compose.settings_class(comp["module"], prefix)
    assert cls is not None
    for key in list(os.environ):
        monkeypatch.delenv(key)
    env = chart_environment(config, tmp_path, redis_server)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    s = cls()
    for key, value in config["controls"].items():
        got = getattr(s, key)
        assert (got.model_dump() if hasattr(got, "model_dump") else got) == value, key
    if "sdl" in cls.model_fields:
        assert (s.sdl.backend, s.sdl.redis_url) == ("redis", redis_server.url)  # type: ignore[attr-defined]
        monkeypatch.setenv(f"{prefix}SDL__REDIS_URL", "redis://elsewhere:6380/1")
        assert cls().sdl.redis_url == "redis://elsewhere:6380/1"  # type: ignore[attr-defined]
    # the descriptor's controls are read (they equal the code's defaults, so change one), the app's variable wins
    control, n = next((k, v) for k, v in config["controls"].items() if isinstance(v, int) and not isinstance(v, bool))
    chart_environment({**config, "controls": {**config["controls"], control: n + 2}}, tmp_path, redis_server)
    assert getattr(cls(), control) == n + 2
    monkeypatch.setenv(f"{prefix}{control.upper()}", str(n + 1))
    assert getattr(cls(), control) == n + 1
    monkeypatch.setenv("CONFIG_FILE", str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match="descriptor not found"):
        cls()


@pytest.fixture(scope="module")
def testbed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The testbed's gRPC E2 server (a real process, port 0): yields its E2 port."""
    log = tmp_path_factory.mktemp("testbed") / "testbed.log"
    proc, ports = start("testbed.serve", {"NEXTRIC_TESTBED_SCENARIO": TESTBED_SCENARIO, "NEXTRIC_TESTBED_SPEEDUP": "5",
                                          "NEXTRIC_TESTBED_LOG__LEVEL": "WARNING"}, log, timeout_s=90)
    try:
        yield int(ports["e2_port"])
    finally:
        stop(proc)


def documented_metrics(name: str) -> set[str]:
    """The metric families docs/deploy.md lists for ``name`` in its O-RAN SC onboarding section."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    section = text.split("### O-RAN SC onboarding", 1)[1].split("\n## ", 1)[0]
    match = re.search(rf"^- `{re.escape(name)}`:(.*?)(?=^- `|^$)", section, flags=re.M | re.S)
    assert match, f"docs/deploy.md lists no metrics of {name}"
    return set(re.findall(r"`(nextric_[a-z0-9_]+)`", match.group(1)))


def metric_families(text: str, prefix: str) -> set[str]:
    """Metric families in a Prometheus text scrape, by the names the code gives them (the exposition adds ``_total``
    to counters and a ``_created`` gauge to counters and histograms)."""
    families = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, flags=re.M):
        if not name.startswith(prefix) or name.endswith("_created"):
            continue
        families.add(name.removesuffix("_total") if kind == "counter" else name)
    return families


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(XAPPS))
def test_xapp_starts_from_the_chart_environment(name: str, tmp_path: Path, redis_server: RedisProcess,
                                                testbed: int) -> None:
    config, comp = descriptor(name), XAPPS[name]
    prefix = comp["env_prefix"]
    env = chart_environment(config, tmp_path, redis_server)
    overrides = {f"{prefix}HTTP__PORT": "0", f"{prefix}E2__TARGET": f"127.0.0.1:{testbed}"}
    assert set(overrides) <= set(config["appenv"]), "an override must replace an appenv entry, not add one"
    env |= overrides
    env |= {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT)}
    cls = compose.settings_class(comp["module"], prefix)
    assert cls is not None
    dbaas = redis.Redis(host=redis_server.host, port=redis_server.port)
    namespace = config["controls"].get("sdl_namespace") if "sdl" in cls.model_fields else None
    if namespace:  # the keys this app writes under its namespace (from the descriptor's controls): none yet
        stale = list(dbaas.scan_iter(match=f"{{{namespace}}},*"))
        if stale:
            dbaas.delete(*stale)
    log = (tmp_path / f"{name}.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", comp["module"]], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=log, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("{"), f"{name} did not start:\n{(tmp_path / f'{name}.log').read_text()[-3000:]}"
        base = f"http://127.0.0.1:{json.loads(line)['http_port']}"
        with httpx.Client(base_url=base, timeout=5.0) as http:
            assert http.get("/ric/v1/health/alive").status_code == 200
            deadline, ready = time.monotonic() + 60, http.get("/ric/v1/health/ready")
            while ready.status_code != 200 and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.5)
                ready = http.get("/ric/v1/health/ready")
            assert ready.status_code == 200, f"{name} not ready: {ready.text}"
            metrics = http.get("/metrics")
            assert metrics.status_code == 200
        app_prefix = "nextric_" + comp["module"].rsplit(".", 1)[1] + "_"
        assert metric_families(metrics.text, app_prefix) == documented_metrics(name)
        if namespace:  # SDL on the DBAAS Redis, under the namespace the descriptor's controls name
            deadline = time.monotonic() + 60
            while not any(True for _ in dbaas.scan_iter(match=f"{{{namespace}}},*")):
                assert proc.poll() is None, f"{name} exited:\n{(tmp_path / f'{name}.log').read_text()[-3000:]}"
                assert time.monotonic() < deadline, f"{name} wrote nothing to the DBAAS Redis in 60 s"
                time.sleep(0.5)
    finally:
        stop(proc)
        log.close()
