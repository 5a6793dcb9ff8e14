"""Every deployment path runs the closed loop: the transport steering xApp wired to the testbed's transport
controller and to SDL (the rApp's plan, its link state), the policy service announcing A1 changes on that SDL, and
the rApp reaching the twin service. Checked on what each real tool renders: the compose file as interpolated from
.env.example, the Helm chart rendered by the Helm library (helm-python-sdk, no binary), kustomize overlays rendered
by ``kubectl kustomize``."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from helm_python.chart import Chart

from tests.deploy.common import ROOT
from tests.deploy.test_kubernetes import OVERLAYS, render
from tools.deploycheck import compose

STEERING = "xapps.transport_steering"


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
    assert rapp["NEXTRIC_RAPP_E2__TARGET"] == f"nextric-testbed:{grpc_port}", f"{where}: the rApp has no twin"


def test_compose_runs_the_steering() -> None:
    raw = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    data = compose.interpolate(raw, compose.read_env_file(ROOT / ".env.example"), set())
    svcs = data["services"]
    steer = [s for s in svcs.values() if s.get("command", [])[-1:] == [STEERING]]
    assert len(steer) == 1
    env = steer[0]["environment"]
    assert env["NEXTRIC_XAPP_TRANSPORT_CONTROLLER__TARGET"] == "testbed:36421"
    assert "testbed" in steer[0]["depends_on"]
    assert "redis" in steer[0]["depends_on"]
    assert svcs["policy"]["environment"]["NEXTRIC_POLICY_SDL_BACKEND"] == "redis"
    assert svcs["intent-agent"]["environment"]["NEXTRIC_RAPP_E2__TARGET"] == "testbed:36421"


def test_helm_renders_the_steering() -> None:
    chart = Chart.load(ROOT / "helm" / "nextric")
    chart.validate_schema({"tokens": {"operator": "o", "viewer": "v", "xapp": "x"}})
    out = chart.render({"tokens": {"operator": "o", "viewer": "v", "xapp": "x"}}, name="nextric", namespace="ric")
    docs = [d for path, text in out.items() if path.endswith(".yaml") for d in yaml.safe_load_all(text) if d]
    _check_k8s(docs, "helm")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kustomize_runs_the_steering(overlay: str) -> None:
    _check_k8s(render(ROOT / "deploy" / "k8s" / "overlays" / overlay), f"kustomize {overlay}")
