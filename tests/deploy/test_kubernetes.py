"""helm/ (static lint, no helm binary here: see tools/deploycheck/chart.py for what is and is not checked) and
deploy/k8s/ (rendered with `kubectl kustomize`, every manifest validated with kubernetes-validate against a
pinned Kubernetes version). An optional component (deploy/components.yaml ``profile``) is off in the chart's
defaults, hence in the base, and on in the overlay named after its profile, which deploys what the chart deploys
with it enabled."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.common import K8S_VERSION, ROOT, components
from tools.deploycheck import k8s_gen
from tools.deploycheck.chart import lint_chart

CHART = ROOT / "helm" / "nextric"
OVERLAYS = sorted(p.name for p in (ROOT / "deploy" / "k8s" / "overlays").iterdir() if p.is_dir())


def render(target: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is needed to render kustomize (make deploy-tools installs it)"
    out = subprocess.run([kubectl, "kustomize", str(target)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def test_chart_lints_clean() -> None:
    assert lint_chart(CHART) == []


def test_chart_components_match() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert set(values["components"]) == set(components())
    for name, c in components().items():
        v = values["components"][name]
        assert (v["module"], v["envPrefix"], v["httpPort"]) == (c["module"], c["env_prefix"], c["http_port"]), name
        assert v.get("grpcPort") == c.get("grpc_port"), name
        assert v.get("e2apPort") == c.get("e2ap_port"), name
        assert v["enabled"] is not bool(c.get("profile")), f"{name}: optional components are off by default"
    assert values["probes"]["liveness"]["path"] == "/ric/v1/health/alive"
    assert values["probes"]["readiness"]["path"] == "/ric/v1/health/ready"


def test_chart_lint_catches_mistakes(tmp_path: Path) -> None:
    bad = tmp_path / "nextric"
    shutil.copytree(CHART, bad)
    dep = bad / "templates" / "deployments.yaml"
    text = dep.read_text()
    text = text.replace(".Values.image.pullPolicy", ".Values.image.pulPolicy")
    text = text.replace("$c.httpPort | quote", "$c.httpPrt | quote", 1)
    text = text.replace("{{- toYaml $c.resources", "{{- toYml $c.resources")
    text = text.replace('include "nextric.image"', 'include "nextric.img"')
    dep.write_text(text + "{{- if .Values.logLevel }}\n")
    values = yaml.safe_load((bad / "values.yaml").read_text())
    values["components"]["testbed"]["replicas"] = -1
    (bad / "values.yaml").write_text(yaml.safe_dump(values))
    problems = "\n".join(lint_chart(bad))
    for expected in (".Values.image.pulPolicy is not in values.yaml", "$c.httpPrt is not a component property",
                     "unknown function or keyword 'toYml'", "'nextric.img' is not defined",
                     "'if' is never closed", "components/testbed/replicas"):
        assert expected in problems, expected


def test_kustomize_base_is_generated_from_chart_values() -> None:
    assert k8s_gen.main(["--check"]) == 0


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_and_validates(overlay: str) -> None:
    docs = render(ROOT / "deploy" / "k8s" / "overlays" / overlay)
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for name, c in components().items():
        wanted = c.get("profile") in (None, overlay)  # an optional component only in its own overlay
        for kind in ("Deployment", "Service", "PodDisruptionBudget"):
            assert ((kind, f"nextric-{name}") in kinds) is wanted, (kind, name)
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)  # raises ValidationError with the path
        if doc["kind"] != "Deployment" or doc["metadata"]["name"] == "nextric-redis":
            continue
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        (c,) = pod["containers"]
        assert c["livenessProbe"]["httpGet"]["path"] == "/ric/v1/health/alive"
        assert c["readinessProbe"]["httpGet"]["path"] == "/ric/v1/health/ready"
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["resources"]["limits"]
        assert c["resources"]["requests"]
        name = doc["metadata"]["labels"]["app.kubernetes.io/name"]
        assert c["command"] == ["python", "-m", components()[name]["module"]]
        for env in c["env"]:
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            assert ref is None or ref["name"] == "nextric-tokens"


def _containers(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Deployment name -> its container, environment sorted by name (a merge patch appends what it adds)."""
    out = {}
    for d in docs:
        if d["kind"] == "Deployment":
            (c,) = d["spec"]["template"]["spec"]["containers"]
            out[d["metadata"]["name"]] = {**c, "env": sorted(c.get("env", []), key=lambda e: e["name"])}
    return out


@pytest.mark.parametrize("profile", sorted({c["profile"] for c in components().values() if c.get("profile")}))
def test_profile_overlay_is_the_chart_with_its_components(profile: str) -> None:
    """The overlay deploys the base's design with the optional components enabled, nothing else changed."""
    assert profile in OVERLAYS, f"no kustomize overlay deploy/k8s/overlays/{profile}"
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for name, c in components().items():
        if c.get("profile") == profile:
            values["components"][name]["enabled"] = True
    want = [yaml.safe_load(d) for d in k8s_gen.render(values)["deployments.yaml"].split("\n---\n")]
    got = _containers(render(ROOT / "deploy" / "k8s" / "overlays" / profile))
    got.pop("nextric-redis")  # the dev overlay's own Redis
    endpoints = next(r["configMapKeyRef"]["name"] for c in got.values() for e in c["env"]
                     if isinstance(r := e.get("valueFrom"), dict) and "configMapKeyRef" in r)
    text = yaml.safe_dump(_containers(want)).replace("name: nextric-endpoints\n", f"name: {endpoints}\n")
    assert got == yaml.safe_load(text)


def test_validation_rejects_a_broken_manifest() -> None:
    (doc,) = [d for d in render(ROOT / "deploy" / "k8s" / "overlays" / "dev")
              if d["kind"] == "Deployment" and d["metadata"]["name"] == "nextric-policy"]
    doc["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eighty"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_scale_out_overlay_runs_three_slice_schedulers() -> None:
    docs = render(ROOT / "deploy" / "k8s" / "overlays" / "scale-out")
    (dep,) = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "nextric-slice-scheduler"]
    assert dep["spec"]["replicas"] == 3


def test_oran_sc_overlay_uses_the_platform() -> None:
    docs = render(ROOT / "deploy" / "k8s" / "overlays" / "oran-sc")
    assert {d["metadata"].get("namespace") for d in docs} == {"ricxapp"}
    (cm,) = [d for d in docs if d["kind"] == "ConfigMap"]
    assert cm["data"]["sdl_redis_url"].startswith("redis://service-ricplt-dbaas-tcp.ricplt:6379")
