"""helm/nextric and deploy/k8s/, checked with the real tools only: the chart rendered and linted by the Helm library
(helm-python-sdk, Helm v4 without a binary; values validated against values.schema.json by Helm), kustomize overlays
rendered by ``kubectl kustomize``, every object validated strictly by kubernetes-validate against a pinned Kubernetes
version. The kustomize base is the chart's rendering (tools/deploycheck/render_base.py), so the deployment is defined
once. An optional component (deploy/components.yaml ``profile``) is off in the chart's defaults, hence in the base,
and on in the overlay named after its profile, which deploys what the chart deploys with it enabled."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from helm_python.chart import Chart, lint
from helm_python.errors import HelmRenderError, HelmValuesError

from tests.deploy.common import K8S_VERSION, ROOT, components
from tests.deploy.test_compose import E2_ROLES, E2_TEST_TOKENS, check_e2_grants
from tools.deploycheck import render_base

CHART = ROOT / "helm" / "nextric"
OVERLAYS = sorted(p.name for p in (ROOT / "deploy" / "k8s" / "overlays").iterdir() if p.is_dir())
PROFILES = sorted({c["profile"] for c in components().values() if c.get("profile")})
#: what `helm install` needs besides the defaults: the Secrets' contents (the chart makes the three Secrets)
SECRETS = {"tokens": {"operator": "operator-token-0123456789abcdef", "viewer": "viewer-token-0123456789abcdef",
                     "xapp": "xapp-token-0123456789abcdef"},
          "redis": {"auth": {"password": "redis-password-0123456789abcdef"}},
           "e2Auth": {"tokens": E2_TEST_TOKENS}}
TOKEN_SECRETS = ("nextric-tokens", "nextric-e2-tokens")  #: the Secrets holding tokens (never an env var)
E2_SERVERS = ("testbed", "e2term")  #: who serves the E2 gRPC port (and reads the E2 grants)
STATE = "/var/lib/nextric"
#: Deployments of an overlay that are not the suite's components: the dev Redis, the O-RAN SC adapter (its own
#: checks: tests/deploy/test_osc_adapter.py)
NOT_COMPONENTS = ("nextric-redis", "nextric-osc-adapter")
TOKEN_MODE = 0o440  #: secret files: read by root and the pods' fsGroup only


def render(target: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is needed to render kustomize (make deploy-tools installs it)"
    out = subprocess.run([kubectl, "kustomize", str(target)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def merged(values: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``values`` with ``extra`` merged in (maps merge, the rest is replaced), as Helm coalesces --set."""
    out = copy.deepcopy(values)
    for key, value in extra.items():
        out[key] = merged(out.get(key) or {}, value) if isinstance(value, dict) else value
    return out


def with_components(values: dict[str, Any], profile: str | None) -> dict[str, Any]:
    on = {n: {"enabled": True} for n, c in components().items() if profile and c.get("profile") == profile}
    return merged(values, {"components": on}) if on else values


def helm_render(values: dict[str, Any], chart: Path = CHART) -> list[dict[str, Any]]:
    """Every object the Helm library renders from the chart as release ``nextric`` (schema validated first)."""
    with Chart.load(chart) as loaded:
        loaded.validate_schema(values)
        out = loaded.render(values, name="nextric", namespace="ric")
    return [d for path, text in out.items() if path.endswith(".yaml") for d in yaml.safe_load_all(text) if d]


def _by_key(docs: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def _container(dep: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = dep["spec"]["template"]["spec"]["containers"]
    (c,) = containers
    return c


def _env(dep: dict[str, Any]) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = _container(dep).get("env", [])
    return env


def _plain_env(dep: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in _env(dep) if "value" in e}


def _check_hardening(docs: list[dict[str, Any]], where: str) -> None:
    """Per-component ServiceAccount without a token, a NetworkPolicy per component and the default deny, the rApp's
    state on its volume, Redis URLs that carry the password from the Secret, Secret references by name, no token in
    the environment (each a file from the token Secret, mounted read-only with mode 0440)."""
    objs = _by_key(docs)
    deps = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] not in NOT_COMPONENTS]
    assert ("NetworkPolicy", "nextric-default-deny") in objs, where
    deny = objs[("NetworkPolicy", "nextric-default-deny")]["spec"]
    assert deny["policyTypes"] == ["Ingress"], f"{where}: not a deny"
    assert not deny.get("ingress"), f"{where}: not a deny"
    for dep in deps:
        name = dep["metadata"]["name"]
        pod = dep["spec"]["template"]["spec"]
        assert set(deny["podSelector"]["matchLabels"].items()) <= set(dep["spec"]["template"]["metadata"]["labels"]
                                                                     .items()), f"{where}: {name} not denied"
        assert pod["automountServiceAccountToken"] is False, (where, name)
        sa = objs[("ServiceAccount", pod["serviceAccountName"])]
        assert sa["automountServiceAccountToken"] is False, (where, name)
        assert pod["serviceAccountName"] == name, f"{where}: {name} shares a ServiceAccount"
        np = objs[("NetworkPolicy", name)]["spec"]
        assert np["podSelector"]["matchLabels"] == dep["spec"]["selector"]["matchLabels"], (where, name)
        for rule in np.get("ingress", []):
            assert rule.get("from"), f"{where}: {name} has a rule open to every source"
        env = _env(dep)
        names = [e["name"] for e in env]
        for i, e in enumerate(env):
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            assert ref is None or ref["name"] in ("nextric-tokens", "nextric-redis"), (where, name, ref)
            assert ref is None or ref["name"] != "nextric-e2-tokens", (where, name, ref)
            if e["name"].endswith("REDIS_URL"):
                assert e["value"].startswith("redis://:$(NEXTRIC_REDIS_PASSWORD)@"), (where, name, e)
                # Kubernetes expands $(VAR) only from variables defined before this one
                assert "NEXTRIC_REDIS_PASSWORD" in names[:i], (where, name)
        if "NEXTRIC_REDIS_PASSWORD" in names:
            (pw,) = [e for e in env if e["name"] == "NEXTRIC_REDIS_PASSWORD"]
            assert pw["valueFrom"]["secretKeyRef"]["name"] == "nextric-redis", (where, name)
        _check_token_files(dep, where)
        _check_e2_auth(dep, where)
    (rapp,) = [d for d in deps if d["metadata"]["labels"]["app.kubernetes.io/name"] == "intent-agent"]
    mounts = {m["mountPath"]: m["name"] for m in _container(rapp)["volumeMounts"]}
    volumes = {v["name"]: v for v in rapp["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes[mounts[STATE]] or "persistentVolumeClaim" in volumes[mounts[STATE]], where
    assert _plain_env(rapp)["NEXTRIC_RAPP_AUDIT_PATH"] == f"{STATE}/audit.db", where


def _check_token_files(dep: dict[str, Any], where: str) -> None:
    """No environment variable holds a token (none from the token Secret, none named ``*TOKEN``/``*TOKENS``); each
    ``*TOKEN_FILE`` / ``*TOKENS_FILE`` is a file of a read-only mount of the token Secret, mode 0440."""
    name = dep["metadata"]["name"]
    c = _container(dep)
    pod = dep["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for e in _env(dep):
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        assert ref is None or ref["name"] not in TOKEN_SECRETS, f"{where}: {name} has a token in {e['name']}"
        assert not e["name"].endswith(("TOKEN", "TOKENS")), f"{where}: {name}: {e['name']} in the environment"
        if not e["name"].endswith(("TOKEN_FILE", "TOKENS_FILE")):
            continue
        folder, _, file = e["value"].rpartition("/")
        (mount,) = [m for m in c["volumeMounts"] if m["mountPath"].rstrip("/") == folder]
        assert mount["readOnly"] is True, (where, name, e["name"])
        secret = volumes[mount["name"]]["secret"]
        assert secret["secretName"] in TOKEN_SECRETS, (where, name, e["name"])
        assert secret["defaultMode"] == TOKEN_MODE, (where, name, e["name"])
        assert file in {i["path"] for i in secret["items"]}, (where, name, e["name"])
        assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"], (where, name)


def _check_e2_auth(dep: dict[str, Any], where: str) -> None:
    """E2 authentication on: an E2 server reads the grants (``tokens.json`` alone) through ``E2__TOKENS_FILE``; an
    E2 client mounts only its own key of the E2 token Secret and reads it through every E2 target it is given (E2,
    the transport controller, the twin); nobody else mounts the Secret."""
    component = dep["metadata"]["labels"]["app.kubernetes.io/name"]
    prefix = components()[component]["env_prefix"]
    env = _plain_env(dep)
    e2_vols = [v for v in dep["spec"]["template"]["spec"].get("volumes", [])
               if v.get("secret", {}).get("secretName") == "nextric-e2-tokens"]
    if component in E2_SERVERS:
        (vol,) = e2_vols
        assert vol["secret"]["items"] == [{"key": "tokens.json", "path": "tokens.json"}], (where, component)
        assert env[f"{prefix}E2__TOKENS_FILE"].endswith("/tokens.json"), (where, component)
    elif component in E2_ROLES:
        (vol,) = e2_vols
        assert vol["secret"]["items"] == [{"key": component, "path": "token"}], (where, component)
        targets = [k.removesuffix("TARGET") for k in env if k.endswith("__TARGET")]
        assert targets, (where, component)
        for target in targets:
            assert env[f"{target}TOKEN_FILE"].endswith("/token"), (where, component, target)
    else:
        assert not e2_vols, (where, component)


def _grants(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import base64
    import json

    (secret,) = [d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == "nextric-e2-tokens"]
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    grants: list[dict[str, Any]] = json.loads(data.pop("tokens.json"))
    assert data == {g["name"]: g["token"] for g in grants}, "one key per client, its grant's token"
    return grants


@pytest.mark.parametrize("bridged", [False, True])
def test_e2_tokens_grant_least_privilege(bridged: bool) -> None:
    """The chart's E2 token Secret: each client component's grant has the roles it needs and no more (the roles the
    E2 servers' interceptor checks, nextric/e2/auth.py), and its own key holds that grant's token."""
    docs = helm_render(merged(SECRETS, {"components": {"e2term": {"enabled": bridged}}}))
    check_e2_grants(_grants(docs), f"helm bridged={bridged}")
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert {n: set(r) for n, r in values["e2Auth"]["roles"].items()} == E2_ROLES
    clients = {n for n, c in values["components"].items()
               if {"e2", "transport", "twin"} & {k for k, v in c["uses"].items() if v}}
    assert clients == set(E2_ROLES), "a client of the E2 port without a grant (or a grant without a client)"
    servers = {d["metadata"]["labels"]["app.kubernetes.io/name"] for d in docs if d["kind"] == "Deployment"
               and any(e["name"].endswith("E2__TOKENS_FILE") for e in _env(d))}
    assert servers == ({"testbed", "e2term"} if bridged else {"testbed"})


def test_e2_auth_can_be_off_and_is_required_on() -> None:
    """``e2Auth.enabled=false``: no E2 token Secret, mount or setting (the servers then warn); on, a client's
    missing token fails the install, as does a short one (the servers refuse tokens under 16 characters)."""
    off = helm_render(merged(SECRETS, {"e2Auth": {"enabled": False}}))
    assert not [d for d in off if d["kind"] == "Secret" and "e2" in d["metadata"]["name"]]
    for dep in (d for d in off if d["kind"] == "Deployment"):
        assert not [e for e in _env(dep) if "TOKEN" in e["name"] and "POLICY" not in e["name"]], dep["metadata"]
    missing = merged(SECRETS, {"e2Auth": {"tokens": {"beam-predictor": ""}}})
    with pytest.raises(HelmRenderError, match=r"e2Auth\.tokens\.beam-predictor"):
        helm_render(missing)
    with pytest.raises(HelmValuesError, match="/e2Auth/tokens"):
        helm_render(merged(SECRETS, {"e2Auth": {"tokens": {"ce-selector": "short"}}}))
    existing = helm_render(merged(missing, {"e2Auth": {"existingSecret": "mine"}}))
    assert not [d for d in existing if d["kind"] == "Secret" and "e2" in d["metadata"]["name"]]
    vols = [v["secret"]["secretName"] for d in existing if d["kind"] == "Deployment"
            for v in d["spec"]["template"]["spec"]["volumes"] if "e2-token" in v["name"]]
    assert vols
    assert set(vols) == {"mine"}


def test_policy_tokens_are_files() -> None:
    """The components with ``uses.policyToken`` read it from a file of the token Secret: the key their values name."""
    values = helm_render(SECRETS)
    comps = {n: c for n, c in yaml.safe_load((CHART / "values.yaml").read_text())["components"].items()
             if c.get("uses", {}).get("policyToken")}
    assert set(comps) == {"slice-scheduler", "intent-agent"}
    for name, c in comps.items():
        (dep,) = [d for d in values if d["kind"] == "Deployment" and d["metadata"]["name"] == f"nextric-{name}"]
        path = _plain_env(dep)[f"{c['envPrefix']}POLICY__TOKEN_FILE"]
        (vol,) = [v for v in dep["spec"]["template"]["spec"]["volumes"] if v["name"] == "policy-token"]
        assert vol["secret"]["items"] == [{"key": c["uses"]["policyToken"], "path": path.rpartition("/")[2]}], name
        _check_token_files(dep, "helm")


# --- the chart, through the Helm library ------------------------------------------------------------------------


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


def test_chart_lints_clean() -> None:
    """`helm lint --strict --kube-version` through the library: no error and no warning."""
    report = lint(CHART, SECRETS, strict=True, kube_version=f"v{K8S_VERSION}")
    assert report["errors"] == [], report
    assert [m for m in report["messages"] if m["severity"] >= 2] == [], report


@pytest.mark.parametrize("profile", [None, *PROFILES])
def test_chart_renders_and_validates(profile: str | None) -> None:
    """The chart's defaults (and each optional component enabled) render through Helm and every object is valid
    Kubernetes, strictly."""
    docs = helm_render(with_components(SECRETS, profile))
    keys = _by_key(docs)
    for name, c in components().items():
        wanted = c.get("profile") in (None, profile)
        for kind in ("Deployment", "Service", "PodDisruptionBudget", "ServiceAccount", "NetworkPolicy"):
            assert ((kind, f"nextric-{name}") in keys) is wanted, (kind, name)
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    assert {k for k in keys if k[0] == "Secret"} == {("Secret", "nextric-tokens"), ("Secret", "nextric-redis"),
                                                     ("Secret", "nextric-e2-tokens")}
    _check_hardening(docs, f"helm {profile}")


def test_chart_rejects_bad_values() -> None:
    """values.schema.json, applied by Helm: a bad value fails rendering and names its path."""
    for bad, where in (({"components": {"testbed": {"replicas": -1}}}, "/components/testbed/replicas"),
                       ({"image": {"tag": "latest"}}, "/image/tag"),
                       ({"redis": {"url": "redis://user:pw@redis:6379"}}, "/redis/url"),
                       ({"networkPolicy": {"metricsFrom": [{"namespace": "x"}]}}, "/networkPolicy/metricsFrom"),
                       ({"components": {"intent-agent": {"state": {"files": {"AUDIT_PATH": "a/b.db"}}}}},
                        "/components/intent-agent/state/files")):
        with pytest.raises(HelmValuesError, match=where):
            helm_render(merged(SECRETS, bad))
    with pytest.raises(HelmRenderError, match=r"redis\.auth\.password"):
        helm_render({"tokens": SECRETS["tokens"]})  # the Redis password is required, as the tokens are


def test_chart_template_errors_fail(tmp_path: Path) -> None:
    """A broken template fails in Helm's own parser / renderer (and in its linter)."""
    for old, new, error in (("{{- toYaml $c.resources", "{{- toYml $c.resources", 'function "toYml" not defined'),
                            ('include "nextric.image"', 'include "nextric.img"', 'no template "nextric.img"'),
                            ("{{- end }}\n{{- end }}\n", "{{- end }}\n", "unexpected EOF")):
        bad = tmp_path / error.replace(" ", "_").replace('"', "") / "nextric"
        shutil.copytree(CHART, bad)
        dep = bad / "templates" / "deployments.yaml"
        text = dep.read_text()
        assert old in text, old
        dep.write_text(text.replace(old, new, 1))
        with pytest.raises(HelmRenderError, match=error):
            helm_render(SECRETS, bad)
        assert lint(bad, SECRETS, strict=True, kube_version=f"v{K8S_VERSION}")["messages"], error


def test_intent_agent_state_volume() -> None:
    """The rApp's audit lives on its volume: an emptyDir by default, a claim when given (then no rolling update)."""
    deps = _by_key(helm_render(SECRETS))
    rapp = deps[("Deployment", "nextric-intent-agent")]
    (vol,) = [v for v in rapp["spec"]["template"]["spec"]["volumes"] if v["name"] == "state"]
    assert vol == {"name": "state", "emptyDir": {}}
    assert "strategy" not in rapp["spec"]
    claimed = _by_key(helm_render(merged(SECRETS, {"components": {"intent-agent": {"state": {"existingClaim": "c"}}}})))
    rapp = claimed[("Deployment", "nextric-intent-agent")]
    (vol,) = [v for v in rapp["spec"]["template"]["spec"]["volumes"] if v["name"] == "state"]
    assert vol == {"name": "state", "persistentVolumeClaim": {"claimName": "c"}}
    assert rapp["spec"]["strategy"] == {"type": "Recreate"}
    kubernetes_validate.validate(rapp, K8S_VERSION, strict=True)


# --- NetworkPolicy: exactly the documented flows ------------------------------------------------------------------

#: (source component, target component, target port name) allowed besides metrics scraping: docs/deploy.md's table
FLOWS = {
    ("slice-scheduler", "testbed", "e2"), ("beam-predictor", "testbed", "e2"), ("ce-selector", "testbed", "e2"),
    ("intent-agent", "testbed", "e2"), ("transport-steering", "testbed", "e2"),
    ("slice-scheduler", "policy", "http"), ("intent-agent", "policy", "http"),
}
E2AP_FLOWS = (FLOWS - {("slice-scheduler", "testbed", "e2")}) | {
    ("slice-scheduler", "e2term", "e2"), ("intent-agent", "e2term", "e2"), ("testbed", "e2term", "e2ap"),
}
REDIS_CLIENTS = {"policy", "slice-scheduler", "transport-steering", "intent-agent"}
METRICS = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}]


def _flows(docs: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(source, target, port name) of every in-release pod peer the NetworkPolicies allow; every component's http
    port admits exactly the metrics peers besides."""
    deps = {d["metadata"]["labels"]["app.kubernetes.io/name"]: d for d in docs if d["kind"] == "Deployment"}
    flows = set()
    for np in (d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] != "nextric-default-deny"):
        target = np["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
        ports = {p["containerPort"]: p["name"] for p in _container(deps[target])["ports"]}
        for rule in np["spec"].get("ingress", []):
            (port,) = rule["ports"]
            name = ports[port["port"]]
            peers = [p for p in rule["from"] if p not in METRICS]
            assert name == "http" or len(peers) == len(rule["from"]), "metrics only on http"
            if name == "http":
                assert all(m in rule["from"] for m in METRICS), f"{target}: not scraped"
            for peer in peers:
                assert set(peer) == {"podSelector"}, peer
                labels = peer["podSelector"]["matchLabels"]
                assert labels["app.kubernetes.io/instance"] == "nextric"
                flows.add((labels["app.kubernetes.io/name"], target, name))
    return flows


def _wired(docs: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(source, target, port name) of every address the Deployments' environment points at."""
    deps = {d["metadata"]["labels"]["app.kubernetes.io/name"]: d for d in docs if d["kind"] == "Deployment"}
    ports = {(n, p["containerPort"]): p["name"] for n, d in deps.items() for p in _container(d)["ports"]}
    wired = set()
    for src, dep in deps.items():
        for value in _plain_env(dep).values():
            for target in deps:
                host = f"nextric-{target}:"
                if host in value:
                    port = int(value.split(host, 1)[1].split("/")[0])
                    wired.add((src, target, ports[(target, port)]))
    return wired


@pytest.mark.parametrize("bridged", [False, True])
def test_network_policies_allow_exactly_the_wiring(bridged: bool) -> None:
    values = merged(SECRETS, {"components": {"e2term": {"enabled": bridged}}})
    docs = helm_render(values)
    assert _flows(docs) == (E2AP_FLOWS if bridged else FLOWS)
    assert _wired(docs) == _flows(docs), "a component is wired to an address its NetworkPolicy does not admit"
    # peers given in values reach exactly their ports
    extra = [{"ipBlock": {"cidr": "10.0.0.0/8"}}]
    opened = _by_key(helm_render(merged(values, {"networkPolicy": {"httpFrom": {"intent-agent": extra},
                                                                   "e2apFrom": extra}})))
    rapp = opened[("NetworkPolicy", "nextric-intent-agent")]["spec"]["ingress"]
    assert [r["from"] for r in rapp] == [METRICS + extra]
    if bridged:
        bridge = opened[("NetworkPolicy", "nextric-e2term")]["spec"]["ingress"]
        (e2ap,) = [r for r in bridge if r["ports"][0]["port"] == components()["e2term"]["e2ap_port"]]
        assert e2ap["ports"][0]["protocol"] == "SCTP"
        assert e2ap["from"][-1] == extra[0]
    off = helm_render(merged(values, {"networkPolicy": {"enabled": False}}))
    assert not [d for d in off if d["kind"] == "NetworkPolicy"]


# --- the kustomize base is the chart's rendering ----------------------------------------------------------------


def test_kustomize_base_is_rendered_from_the_chart() -> None:
    assert render_base.main(["--check"]) == 0


def test_base_drift_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check fails once the chart's rendering and the committed files differ (here: another value)."""
    values = yaml.safe_load(render_base.VALUES.read_text())
    values["components"] = {"policy": {"replicas": 3}}
    changed = tmp_path / "values.yaml"
    changed.write_text(yaml.safe_dump(values))
    monkeypatch.setattr(render_base, "VALUES", changed)
    assert render_base.main(["--check"]) == 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_and_validates(overlay: str) -> None:
    docs = render(ROOT / "deploy" / "k8s" / "overlays" / overlay)
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for name, c in components().items():
        wanted = c.get("profile") in (None, overlay)  # an optional component only in its own overlay
        for kind in ("Deployment", "Service", "PodDisruptionBudget", "ServiceAccount", "NetworkPolicy"):
            assert ((kind, f"nextric-{name}") in kinds) is wanted, (kind, name)
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)  # raises ValidationError with the path
        assert doc["metadata"].get("labels", {}).get("app.kubernetes.io/managed-by") in (None, "kustomize"), doc
        if doc["kind"] != "Deployment" or doc["metadata"]["name"] in NOT_COMPONENTS:
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
    _check_hardening(docs, f"kustomize {overlay}")


def _normalised(docs: list[dict[str, Any]], endpoints: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The objects as deployed, minus what kustomize adds on purpose: the namespace, the managed-by label, the
    ConfigMap's content-hash suffix. Environments sorted by name (a merge patch appends what it adds)."""
    out = {}
    for d in copy.deepcopy(docs):
        d["metadata"].pop("namespace", None)
        for meta in (d["metadata"], d.get("spec", {}).get("template", {}).get("metadata", {})):
            meta.get("labels", {}).pop("app.kubernetes.io/managed-by", None)
        if d["kind"] == "Deployment":
            c = _container(d)
            c["env"] = sorted(c.get("env", []), key=lambda e: e["name"])
        text = yaml.safe_dump(d).replace("name: nextric-endpoints\n", f"name: {endpoints}\n")
        out[(d["kind"], d["metadata"]["name"])] = yaml.safe_load(text)
    return out


def _check_overlay_is_chart(overlay: str, profile: str | None) -> None:
    want_docs = helm_render(with_components(render_base.base_values(), profile))
    got_docs = render(ROOT / "deploy" / "k8s" / "overlays" / overlay)
    (cm,) = [d["metadata"]["name"] for d in got_docs if d["kind"] == "ConfigMap"]
    want, got = _normalised(want_docs, cm), _normalised(got_docs, cm)
    assert set(want) <= set(got), set(want) - set(got)
    for key, doc in want.items():
        assert got[key] == doc, key
    extra = {k for k in set(got) - set(want) if k != ("ConfigMap", cm)}
    assert extra <= {("Namespace", "nextric"), ("Deployment", "nextric-redis"), ("Service", "nextric-redis"),
                     ("ServiceAccount", "nextric-redis"), ("NetworkPolicy", "nextric-redis")}, extra


def test_dev_overlay_is_the_chart() -> None:
    """The dev overlay deploys exactly what the chart renders with deploy/k8s/values.yaml, plus its Redis."""
    _check_overlay_is_chart("dev", None)


@pytest.mark.parametrize("profile", PROFILES)
def test_profile_overlay_is_the_chart_with_its_components(profile: str) -> None:
    """The overlay deploys the base's design with the optional components enabled, nothing else changed."""
    assert profile in OVERLAYS, f"no kustomize overlay deploy/k8s/overlays/{profile}"
    _check_overlay_is_chart(profile, profile)


def test_dev_redis_requires_the_password() -> None:
    """The dev overlay's Redis runs with requirepass from the Secret its clients' URLs take the password from, and
    only Redis's clients may reach it."""
    docs = _by_key(render(ROOT / "deploy" / "k8s" / "overlays" / "dev"))
    redis = docs[("Deployment", "nextric-redis")]
    c = _container(redis)
    args = c["args"]
    assert args[args.index("--requirepass") + 1] == "$(REDIS_PASSWORD)"
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c["env"]}
    assert env["REDIS_PASSWORD"] == env["REDISCLI_AUTH"] == {"name": "nextric-redis", "key": "password"}
    assert redis["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    (rule,) = docs[("NetworkPolicy", "nextric-redis")]["spec"]["ingress"]
    assert {p["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for p in rule["from"]} == REDIS_CLIENTS
    assert rule["ports"] == [{"port": 6379, "protocol": "TCP"}]
    np_selects = docs[("NetworkPolicy", "nextric-redis")]["spec"]["podSelector"]["matchLabels"]
    assert set(np_selects.items()) <= set(redis["spec"]["template"]["metadata"]["labels"].items())


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
    assert cm["data"]["redis_address"] == "service-ricplt-dbaas-tcp.ricplt:6379"
    objs = _by_key(docs)
    assert ("Deployment", "nextric-redis") not in objs
    # the App Manager's xApps (not the suite's pods) reach the testbed's E2 and the policy API; the platform scrapes
    extra = objs[("NetworkPolicy", "nextric-oran-sc")]["spec"]
    ports = {(p["port"], p["protocol"]) for r in extra["ingress"] for p in r["ports"]}
    comps = components()
    assert ports == {(comps["testbed"]["grpc_port"], "TCP"), (comps["policy"]["http_port"], "TCP")}
    (xapps,) = extra["ingress"][0]["from"]
    assert xapps["podSelector"]["matchExpressions"] == [
        {"key": "app.kubernetes.io/part-of", "operator": "NotIn", "values": ["nextric"]}]
