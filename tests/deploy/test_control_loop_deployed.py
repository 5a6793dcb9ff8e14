"""Every deployment path runs the closed loop: the transport steering xApp wired to the testbed's transport
controller and to SDL (the rApp's plan, its link state), the policy service announcing A1 changes on that SDL, and
the rApp reaching the twin service. Checked on what each real tool renders: the compose file as Docker Compose
renders it from .env.example (``docker compose config``), the Helm chart rendered by the Helm library
(helm-python-sdk, no binary), kustomize overlays rendered by ``kubectl kustomize``.

The E2AP path (compose profile e2ap + deploy/compose.e2ap.yaml, the chart with components.e2term enabled, the
kustomize e2ap overlay) closes the same loop through the E2 termination bridge: the testbed's gNBs connect to its
E2AP port with the bridge's transport, the slice scheduler and the rApp use its gRPC E2 hub, the rApp's twin, the
transport controller and the BEAM / PILOT xApps stay on the testbed, and the bridge's cell inventory is the cells of
the scenario the testbed runs; the rendered environment builds each app's settings."""

from __future__ import annotations

import functools
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from helm_python.chart import Chart

from tests.deploy.common import ROOT, components
from tests.deploy.test_compose import E2_TEST_TOKENS, _compose
from tests.deploy.test_kubernetes import OVERLAYS, render
from tools.deploycheck import cells, compose

STEERING = "xapps.transport_steering"
TOKENS = {"tokens": {"operator": "operator-token-0123456789abcdef", "viewer": "viewer-token-0123456789abcdef",
                     "xapp": "xapp-token-0123456789abcdef"},
          "redis": {"auth": {"password": "redis-password-0123456789abcdef"}},
          "e2Auth": {"tokens": E2_TEST_TOKENS}}
BRIDGED = ("slice-scheduler", "intent-agent")  #: their E2 is KPM + RC only: through the bridge on the E2AP path
ON_TESTBED = ("beam-predictor", "ce-selector")  #: BEAM / PILOT reports are not E2AP: always the testbed


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def _check_k8s(docs: list[dict[str, Any]], where: str) -> None:
    deps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    steer = [d for d in deps.values()
             if d["spec"]["template"]["spec"]["containers"][0].get("command", [""])[-1] == STEERING]
    assert len(steer) == 1, f"{where}: no transport steering Deployment"
    (c,) = steer[0]["spec"]["template"]["spec"]["containers"]
    env = _env(c)
    testbed = deps["nextric-testbed"]["spec"]["template"]["spec"]["containers"][0]
    grpc_port = next(p["containerPort"] for p in testbed["ports"] if p["name"] == "e2")
    assert env["NEXTRIC_XAPP_TRANSPORT_CONTROLLER__TARGET"] == f"nextric-testbed:{grpc_port}", where
    assert env["NEXTRIC_XAPP_TRANSPORT_SDL__BACKEND"] == "redis", where
    assert steer[0]["spec"]["replicas"] == 1, f"{where}: one writer of the transport shares"
    policy = _env(deps["nextric-policy"]["spec"]["template"]["spec"]["containers"][0])
    assert policy["NEXTRIC_POLICY_SDL_BACKEND"] == "redis", f"{where}: A1 changes are not announced"
    rapp = _env(deps["nextric-intent-agent"]["spec"]["template"]["spec"]["containers"][0])
    twin = rapp.get("NEXTRIC_RAPP_TWIN__TARGET", rapp["NEXTRIC_RAPP_E2__TARGET"])  # unset: the E2 target serves it
    assert twin == f"nextric-testbed:{grpc_port}", f"{where}: the rApp has no twin"


def test_compose_runs_the_steering() -> None:
    svcs = _compose()["services"]
    steer = [s for s in svcs.values() if (s.get("command") or [])[-1:] == [STEERING]]
    assert len(steer) == 1
    env = steer[0]["environment"]
    assert env["NEXTRIC_XAPP_TRANSPORT_CONTROLLER__TARGET"] == "testbed:36421"
    assert "testbed" in steer[0]["depends_on"]
    assert "redis" in steer[0]["depends_on"]
    assert svcs["policy"]["environment"]["NEXTRIC_POLICY_SDL_BACKEND"] == "redis"
    assert svcs["intent-agent"]["environment"]["NEXTRIC_RAPP_E2__TARGET"] == "testbed:36421"


def helm_render(values: dict[str, Any]) -> list[dict[str, Any]]:
    chart = Chart.load(ROOT / "helm" / "nextric")
    chart.validate_schema(values)
    out = chart.render(values, name="nextric", namespace="ric")
    return [d for path, text in out.items() if path.endswith(".yaml") for d in yaml.safe_load_all(text) if d]


def test_helm_renders_the_steering() -> None:
    _check_k8s(helm_render(TOKENS), "helm")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kustomize_runs_the_steering(overlay: str) -> None:
    _check_k8s(render(ROOT / "deploy" / "k8s" / "overlays" / overlay), f"kustomize {overlay}")


@functools.cache
def _inventory(scenario: str) -> list[dict[str, Any]]:
    return cells.inventory(scenario)


def _settings_build(name: str, env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's settings build from the rendered plain values (references to ConfigMaps/Secrets left out; a token
    file, a mounted Secret in the cluster, stands as a file with a placeholder token, as the settings read it)."""
    c = components()[name]
    cls = compose.settings_class(c["module"], c["env_prefix"])
    assert cls is not None, name
    plain = {k: str(v) for k, v in env.items() if not isinstance(v, dict)}
    assert compose.unknown_env_names(cls, c["env_prefix"], list(plain)) == [], name
    for key in list(os.environ):
        if key.startswith("NEXTRIC_"):
            monkeypatch.delenv(key)
    with tempfile.TemporaryDirectory() as secrets:
        for key, value in plain.items():
            if key.endswith("TOKEN_FILE"):
                value = str(Path(secrets) / key)
                Path(value).write_text("placeholder-token-0123456789abcdef\n")  # 22+: weak ones are refused
            monkeypatch.setenv(key, value)
        cls()


def _check_e2ap_k8s(docs: list[dict[str, Any]], where: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The E2AP path in rendered Kubernetes manifests; returns the bridge's transport."""
    deps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    svcs = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    comp = components()["e2term"]
    assert "nextric-e2term" in deps, f"{where}: no E2 termination bridge"
    assert deps["nextric-e2term"]["spec"]["replicas"] == 1, f"{where}: gNBs and xApps must meet at one bridge"
    bridge = deps["nextric-e2term"]["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: (p["containerPort"], p["protocol"]) for p in bridge["ports"]}
    protocol = ports["e2ap"][1]
    assert ports["e2"] == (comp["grpc_port"], "TCP"), where
    assert ports["e2ap"][0] == comp["e2ap_port"], where
    assert protocol in ("SCTP", "TCP"), where
    svc_ports = {p["name"]: (p["port"], p["protocol"]) for p in svcs["nextric-e2term"]["spec"]["ports"]}
    assert svc_ports["e2ap"] == ports["e2ap"], f"{where}: Service != Deployment"
    assert svc_ports["e2"] == ports["e2"], f"{where}: Service != Deployment"
    transport = protocol.lower()
    env = {n: _env(d["spec"]["template"]["spec"]["containers"][0]) for n, d in deps.items()}
    assert env["nextric-e2term"]["NEXTRIC_E2TERM_E2AP__TRANSPORT"] == transport, where
    testbed = env["nextric-testbed"]
    assert testbed["NEXTRIC_TESTBED_E2AP"] == f"nextric-e2term:{svc_ports['e2ap'][0]}", f"{where}: gNBs not connected"
    assert testbed["NEXTRIC_TESTBED_E2AP_TRANSPORT"] == transport, f"{where}: the gNBs speak another transport"
    tb_grpc = next(p["containerPort"] for p in deps["nextric-testbed"]["spec"]["template"]["spec"]["containers"][0]
                   ["ports"] if p["name"] == "e2")
    for name in BRIDGED:
        c = components()[name]
        assert env[f"nextric-{name}"][f"{c['env_prefix']}E2__TARGET"] == f"nextric-e2term:{svc_ports['e2'][0]}", name
    for name in ON_TESTBED:
        c = components()[name]
        assert env[f"nextric-{name}"][f"{c['env_prefix']}E2__TARGET"] == f"nextric-testbed:{tb_grpc}", name
    assert env["nextric-intent-agent"]["NEXTRIC_RAPP_TWIN__TARGET"] == f"nextric-testbed:{tb_grpc}", where
    # the twin, on the testbed, gets the same token as the rApp's E2 (its grant has kpm and twin)
    assert env["nextric-intent-agent"]["NEXTRIC_RAPP_TWIN__TOKEN_FILE"] == \
        env["nextric-intent-agent"]["NEXTRIC_RAPP_E2__TOKEN_FILE"], where
    inventory = json.loads(env["nextric-e2term"]["NEXTRIC_E2TERM_CELLS"])
    assert inventory == _inventory(testbed["NEXTRIC_TESTBED_SCENARIO"]), f"{where}: not the testbed's cells"
    for name in ("e2term", "testbed", *BRIDGED):
        _settings_build(name, env[f"nextric-{name}"], monkeypatch)
    return transport


def test_helm_e2ap_path(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "nextric-e2term" not in {d["metadata"]["name"] for d in helm_render(TOKENS)}, "e2term is on by default"
    on = {**TOKENS, "components": {"e2term": {"enabled": True}}}
    docs = helm_render(on)
    assert _check_e2ap_k8s(docs, "helm e2ap", monkeypatch) == "sctp"
    _check_k8s(docs, "helm e2ap")
    tcp = helm_render({**on, "e2ap": {"protocol": "TCP"}})
    assert _check_e2ap_k8s(tcp, "helm e2ap TCP", monkeypatch) == "tcp"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kustomize_e2ap_path(overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = render(ROOT / "deploy" / "k8s" / "overlays" / overlay)
    if overlay != "e2ap":
        deps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
        assert "nextric-e2term" not in deps
        assert "NEXTRIC_TESTBED_E2AP" not in _env(deps["nextric-testbed"]["spec"]["template"]["spec"]["containers"][0])
        return
    _check_e2ap_k8s(docs, "kustomize e2ap", monkeypatch)


def test_compose_e2ap_path() -> None:
    default = _compose()
    assert "NEXTRIC_TESTBED_E2AP" not in default["services"]["testbed"]["environment"]
    data = _compose("e2ap")
    svcs = data["services"]
    comps = components()
    e2ap_port, grpc_port = comps["e2term"]["e2ap_port"], comps["e2term"]["grpc_port"]
    bridge = svcs["e2term"]["environment"]
    transport = bridge["NEXTRIC_E2TERM_E2AP__TRANSPORT"]
    assert transport in ("tcp", "sctp"), "the published port needs a protocol: not auto"
    (published,) = svcs["e2term"]["ports"]
    assert (published["target"], published["protocol"]) == (e2ap_port, transport), published
    testbed = svcs["testbed"]["environment"]
    assert testbed["NEXTRIC_TESTBED_E2AP"] == f"e2term:{e2ap_port}"
    assert testbed["NEXTRIC_TESTBED_E2AP_TRANSPORT"] == transport
    for name in BRIDGED:
        assert svcs[name]["environment"][f"{comps[name]['env_prefix']}E2__TARGET"] == f"e2term:{grpc_port}", name
        assert "e2term" in svcs[name]["depends_on"], name
    on_testbed = f"testbed:{comps['testbed']['grpc_port']}"
    for name in ON_TESTBED:
        assert svcs[name]["environment"][f"{comps[name]['env_prefix']}E2__TARGET"] == on_testbed, name
    assert svcs["intent-agent"]["environment"]["NEXTRIC_RAPP_TWIN__TARGET"] == on_testbed
    assert svcs["intent-agent"]["environment"]["NEXTRIC_RAPP_TWIN__TOKEN_FILE"] == \
        svcs["intent-agent"]["environment"]["NEXTRIC_RAPP_E2__TOKEN_FILE"]
    assert svcs["transport-steering"]["environment"]["NEXTRIC_XAPP_TRANSPORT_CONTROLLER__TARGET"] == on_testbed
    assert svcs["testbed"]["depends_on"]["e2term"] == {"condition": "service_healthy", "required": True}
    assert json.loads(bridge["NEXTRIC_E2TERM_CELLS"]) == _inventory(testbed["NEXTRIC_TESTBED_SCENARIO"])


def test_rapp_state_is_on_a_volume() -> None:
    """The rApp's audit (SQLite) is written under a volume on every path: the root filesystem is read-only."""
    data = _compose()
    svc = data["services"]["intent-agent"]
    assert svc["read_only"] is True
    audit = svc["environment"]["NEXTRIC_RAPP_AUDIT_PATH"]
    named = [(m["source"], m["target"]) for m in svc.get("volumes", [])
             if m["type"] == "volume" and m["source"] in data.get("volumes", {})]
    assert any(audit.startswith(f"{target.rstrip('/')}/") for _, target in named), f"compose: {audit} not on a volume"
    for docs, where in ((helm_render(TOKENS), "helm"), (render(ROOT / "deploy" / "k8s" / "overlays" / "dev"), "dev")):
        (dep,) = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "nextric-intent-agent"]
        (c,) = dep["spec"]["template"]["spec"]["containers"]
        audit = _env(c)["NEXTRIC_RAPP_AUDIT_PATH"]
        volumes = {v["name"] for v in dep["spec"]["template"]["spec"]["volumes"] if "secret" not in v}
        mounts = [m["mountPath"] for m in c["volumeMounts"] if m["name"] in volumes and not m.get("readOnly")]
        assert any(audit.startswith(f"{m.rstrip('/')}/") for m in mounts if m != "/tmp"), f"{where}: {audit}"
