"""Every deployment path starts every component as deployed and each answers 200 on alive, ready and /metrics.

The paths: the Helm chart rendered by the Helm library (helm-python-sdk), every kustomize overlay rendered by
``kubectl kustomize``, and the compose model (docker-compose.yml as Docker Compose renders it from .env.example; the
E2AP override with its profile). Each component runs with its image's environment (the Dockerfile's ``ENV``)
overlaid by the manifest's, the manifest's user (when the tests run as root), its volumes and nothing else writable;
what stands in for a container runtime and a cluster is listed in tests/deploy/launch.py. Components that fail show
their log in the assertion.

E2 authentication is on in every path (the tokens from the Secrets / files the operator makes): each E2 server (the
testbed, the bridge) answers an unauthenticated call UNAUTHENTICATED and a client's token with its grant, never
logs that it runs without authentication, and has refused no call of the deployed clients (each token has the roles
of its component's calls).

E2 TLS is on in the Helm path (``e2Tls.enabled``), in every kustomize overlay (the base renders it on) and in compose
(file secrets), with the certificates ``tools/certs.py`` makes as docs/deploy.md says: every deployed E2 client
reaches its server over TLS (the components answer ready), a client trusting the CA gets through with a token, and a
plaintext client is refused even with a valid token."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from nextric.e2.v1 import e2ap_pb2, e2ap_pb2_grpc
from tests.deploy import launch
from tests.deploy.common import ROOT, components
from tests.deploy.test_compose import (
    E2_TEST_TOKENS,
    PATHS,
    _compose,
    e2_grants,
    with_operator_passwords,
    write_secrets,
)
from tests.deploy.test_control_loop_deployed import TOKENS, helm_render
from tests.deploy.test_kubernetes import OVERLAYS, render
from tools import certs
from tools.deploycheck import compose, dockerfiles

START_TIMEOUT_S = 120.0
HELM_VALUES: dict[str, Any] = {**TOKENS, "redis": {"auth": {"password": "smoke-test-redis-password"}}}
#: compose services that are not the suite's components (the base image builder, Prometheus, Grafana)
NOT_COMPONENTS = {"base", "prometheus", "grafana"}
E2_SERVERS = ("testbed", "e2term")
TLS_SECRET = "nextric-e2-tls"  #: the Secret docs/deploy.md tells the operator to make with tools/certs.py
HELM_TLS_VALUES: dict[str, Any] = {**HELM_VALUES, "e2Tls": {"enabled": True, "existingSecret": TLS_SECRET}}


@pytest.fixture(scope="module")
def e2_pki(tmp_path_factory: pytest.TempPathFactory) -> certs.Issued:
    """The operator's E2 certificates: python -m tools.certs <dir> (release nextric)."""
    return certs.issue(tmp_path_factory.mktemp("e2-tls"), certs.server_names(), days=1)


def _tls_secret(pki: certs.Issued, namespace: str | None) -> dict[str, Any]:
    """kubectl create secret generic nextric-e2-tls --from-file=ca.crt --from-file=tls.crt --from-file=tls.key"""
    meta = {"namespace": namespace} if namespace else {}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": TLS_SECRET, **meta},
            "stringData": {"ca.crt": pki.ca_cert.read_text(), "tls.crt": pki.server_cert.read_text(),
                           "tls.key": pki.server_key.read_text()}}


def _image(component: str) -> tuple[dict[str, str], int | None]:
    """The environment and uid the component's image gives its process (base image, then its own Dockerfile)."""
    env: dict[str, str] = {}
    user = None
    for path in (ROOT / "deploy" / "docker" / "base.Dockerfile", ROOT / components()[component]["dockerfile"]):
        stage = dockerfiles.parse(path).final
        env.update({k: v for k, v in dockerfiles.env_of(stage).items() if k != "PATH"})
        for ins in stage.all("USER"):
            user = int(ins.args.split(":")[0])
    return env, user


def _component_of_module(module: str) -> str | None:
    return next((n for n, c in components().items() if c["module"] == module), None)


def _with_image_env(pods: list[launch.Pod]) -> None:
    for pod in pods:
        module = pod.command[-1] if pod.command[:2] == ["python", "-m"] else None
        name = _component_of_module(module) if module else None
        if name is not None:
            env, _ = _image(name)
            pod.env = {**env, **pod.env}


@pytest.fixture
def workdir() -> Iterator[Path]:
    """Volumes and logs outside pytest's private (0700) temporary tree, so the pods' user can reach its own."""
    with tempfile.TemporaryDirectory(prefix="nextric-smoke-") as d:
        os.chmod(d, 0o755)
        yield Path(d)


def _list_nodes(pod: launch.Pod, port: int, token: str | None, tls: tuple[bytes, str] | None = None) -> grpc.StatusCode:
    """The status of an E2 ``ListNodes`` on the pod's gRPC port, with ``token`` or none; over TLS with ``tls`` (the
    CA certificate, the server name to verify), else plaintext."""
    metadata = [("authorization", f"Bearer {token}")] if token else None
    target = f"{pod.host}:{port}"
    channel = grpc.insecure_channel(target) if tls is None else grpc.secure_channel(
        target, grpc.ssl_channel_credentials(tls[0]), options=[("grpc.ssl_target_name_override", tls[1])])
    with channel:
        try:
            e2ap_pb2_grpc.E2NodeStub(channel).ListNodes(e2ap_pb2.ListNodesRequest(), timeout=10.0, metadata=metadata)
        except grpc.RpcError as exc:
            code: grpc.StatusCode = exc.code()
            return code
    return grpc.StatusCode.OK


def _check_e2_auth(running: list[launch.Running], where: str, ca: bytes | None = None) -> list[str]:
    """Why the E2 servers among ``running`` do not run with authentication (empty when they all do); with ``ca``
    (the deployment's CA certificate), also why they do not serve TLS only."""
    problems = []
    servers = [(r, n) for r in running if (n := _component_of_pod(r.pod)) in E2_SERVERS]
    assert servers, f"{where}: no E2 server"
    for r, name in servers:
        log = r.log.read_text(errors="replace")
        if "WITHOUT authentication" in log:
            problems.append(f"{name}: serves E2 without authentication")
        if "gRPC call refused" in log:  # before the test's own unauthenticated call below
            problems.append(f"{name}: refused a deployed client's call (a token without its roles?)")
        prefix = components()[name]["env_prefix"]
        port = int(r.pod.env.get(f"{prefix}E2__PORT") or components()[name]["grpc_port"])
        tls = None
        if ca is not None:
            if f"{prefix}E2__TLS_CERT_FILE" not in r.pod.env:
                problems.append(f"{name}: serves E2 without TLS")
            tls = (ca, f"nextric-{name}")
            token = E2_TEST_TOKENS["slice-scheduler"]
            if (code := _list_nodes(r.pod, port, token)) != grpc.StatusCode.UNAVAILABLE:
                problems.append(f"{name}: a plaintext ListNodes with a valid token got {code.name}")
        if (code := _list_nodes(r.pod, port, None, tls)) != grpc.StatusCode.UNAUTHENTICATED:
            problems.append(f"{name}: an unauthenticated ListNodes got {code.name}")
        if (code := _list_nodes(r.pod, port, E2_TEST_TOKENS["slice-scheduler"], tls)) != grpc.StatusCode.OK:
            problems.append(f"{name}: the slice scheduler's token got {code.name} on ListNodes")
    return problems


def _component_of_pod(pod: launch.Pod) -> str | None:
    return _component_of_module(pod.command[-1]) if pod.command[:2] == ["python", "-m"] else None


def _run(pods: list[launch.Pod], externals: list[launch.External], workdir: Path, where: str,
         ca: bytes | None) -> None:
    logs = workdir / "logs"
    logs.mkdir()
    http = sorted(p.name for p in pods if p.http_port)
    assert http, f"{where}: no component"
    with launch.deployed(pods, logs, externals) as running:
        status = launch.probe_all(running, START_TIMEOUT_S)
        failed = {n: s for n, s in status.items() if any(v != 200 for v in s.values())}
        auth = _check_e2_auth(running, where, ca) if not failed else []
        logs_of = {r.pod.name: r.output() for r in running}
    detail = "\n".join(f"--- {n}: {s}\n{logs_of[n]}" for n, s in failed.items())
    assert not failed, f"{where}: components not answering 200:\n{detail}"
    servers = "\n".join(f"--- {n}:\n{logs_of[n][-3000:]}" for n in logs_of if "testbed" in n or "e2term" in n)
    assert not auth, f"{where}: E2 authentication: {auth}\n{servers}"


def _operator_secrets(namespace: str | None, pki: certs.Issued) -> list[dict[str, Any]]:
    """The Secrets docs/deploy.md tells the operator to create before ``kubectl apply -k`` (never committed)."""
    tokens = TOKENS["tokens"]
    grants = [{"name": "operator", "token": tokens["operator"], "roles": ["operator"]},
              {"name": "viewer", "token": tokens["viewer"], "roles": ["viewer"]},
              {"name": "xapps", "token": tokens["xapp"], "roles": ["xapp"]}]
    meta = {"namespace": namespace} if namespace else {}
    return [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "nextric-tokens", **meta},
             "stringData": {**tokens, "tokens.json": json.dumps(grants)}},
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "nextric-redis", **meta},
             "stringData": {"password": HELM_VALUES["redis"]["auth"]["password"]}},
            # the E2 servers' grants and each client's token under its component's name (from files: a newline)
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "nextric-e2-tokens", **meta},
             "stringData": {"tokens.json": json.dumps(e2_grants(E2_TEST_TOKENS)),
                            **{n: token + "\n" for n, token in E2_TEST_TOKENS.items()}}},
            _tls_secret(pki, namespace)]


def _k8s(docs: list[dict[str, Any]], workdir: Path, block: int, where: str, pki: certs.Issued) -> None:
    addresses = launch.Addresses(block)
    pods, hosts = launch.pods_from_k8s(docs, addresses, workdir / "volumes")
    _with_image_env(pods)
    externals = launch.wire(pods, hosts, addresses)
    deployed = {p.command[-1] for p in pods if p.command[:2] == ["python", "-m"]}
    wanted = {c["module"] for c in components().values() if not c.get("profile")}
    assert wanted <= deployed, f"{where}: not deployed: {sorted(wanted - deployed)}"
    _run(pods, externals, workdir, where, pki.ca_cert.read_bytes())


def test_helm_chart_starts_every_component_with_e2_tls(workdir: Path, e2_pki: certs.Issued) -> None:
    _k8s([*helm_render(HELM_TLS_VALUES), _tls_secret(e2_pki, "ric")], workdir, 1, "helm", e2_pki)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kustomize_overlay_starts_every_component(overlay: str, workdir: Path, e2_pki: certs.Issued) -> None:
    docs = render(ROOT / "deploy" / "k8s" / "overlays" / overlay)
    namespace = next((d["metadata"].get("namespace") for d in docs if d["kind"] == "Deployment"), None)
    _k8s(docs + _operator_secrets(namespace, e2_pki), workdir, 2 + OVERLAYS.index(overlay), overlay, e2_pki)


def _short_syntax(data: dict[str, Any]) -> None:
    """Compose renders volumes and secrets in their long syntax; tests/deploy/launch.py reads the short one
    (``source:target`` volumes, secrets relative to /run/secrets, ``{file}`` secret definitions)."""
    for svc in data["services"].values():
        svc["volumes"] = [f"{v['source']}:{v['target']}" for v in svc.get("volumes", [])]
        svc["secrets"] = [{"source": s["source"], "target": os.path.relpath(s["target"], compose.SECRETS_DIR)}
                          for s in svc.get("secrets", [])]
    data["secrets"] = {n: {"file": s["file"]} for n, s in (data.get("secrets") or {}).items()}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_compose_starts_every_component(path: str, workdir: Path) -> None:
    data = with_operator_passwords(_compose(path))  # only the services Compose starts on this path; .env edited
    files = write_secrets(data, workdir / "secrets")  # the token and TLS files docs/deploy.md tells the operator make
    _short_syntax(data)
    services = sorted(set(data["services"]) - NOT_COMPONENTS)
    users = {}
    for name in components():
        image = str(data["services"].get(name, {}).get("image", "")).split(":")[0]
        uid = _image(name)[1]
        if image and uid is not None:
            users[image] = uid
    addresses = launch.Addresses(20 + sorted(PATHS).index(path))
    pods, hosts = launch.pods_from_compose(data, services, addresses, workdir / "volumes", users)
    _with_image_env(pods)
    externals = launch.wire(pods, hosts, addresses)
    assert not externals, f"compose {path}: points at services it does not run: {externals}"
    _run(pods, externals, workdir, f"compose {path}", files["e2_ca"].read_bytes())
