"""The O-RAN SC adapter (deploy/osc) as deployed by the ``oran-sc`` kustomize overlay: its objects valid (strict,
Kubernetes 1.30) and hardened like the suite's (non-root, read-only root, no ServiceAccount token, probes on its RMR
data port since it serves no HTTP, its token a mounted Secret file), its NetworkPolicy consistent with the overlay's;
the descriptor it registers with (CONFIG_FILE) and its static RMR route table (RMR_SEED_RT) shipped in its image,
at the paths the image and the manifest name; the route table well-formed with a route for every message type the
adapter sends or receives (deploy/osc/adapter/a1.py). The adapter's behaviour: ``make osc-test`` (.venv-osc)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path, PurePosixPath
from typing import Any

import kubernetes_validate
import pytest

from nextric.descriptor import default_schema_path, validate
from tests.deploy.common import K8S_VERSION, ROOT
from tests.deploy.test_kubernetes import render
from tools.deploycheck import dockerfiles as df

NAME = "nextric-osc-adapter"
OSC = ROOT / "deploy" / "osc"
DOCKERFILE = OSC / "Dockerfile"
RMR_DATA, RMR_ROUTE = 4560, 4561
_RTE = re.compile(r"^rte\|(\d+)(?:,[A-Za-z0-9.-]+:\d+)?\|([A-Za-z0-9.-]+:\d+(?:[,;][A-Za-z0-9.-]+:\d+)*)$")


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    return render(ROOT / "deploy" / "k8s" / "overlays" / "oran-sc")


def _objs(docs: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def _container(dep: dict[str, Any]) -> dict[str, Any]:
    (c,) = dep["spec"]["template"]["spec"]["containers"]
    return dict(c)


def _env(dep: dict[str, Any]) -> dict[str, str]:
    env = _container(dep)["env"]
    assert all("value" in e for e in env), "the adapter's environment holds plain values only (no secret)"
    return {e["name"]: e["value"] for e in env}


def _message_types() -> dict[str, int]:
    """The RMR message types of deploy/osc/adapter/a1.py (its module-level ``A1_*`` integer constants)."""
    tree = ast.parse((OSC / "adapter" / "a1.py").read_text())
    out: dict[str, int] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, int):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id.startswith("A1_"):
                    out[target.id] = node.value.value
    return out


def parse_route_table(text: str) -> dict[int, list[str]]:
    """RMR's static route table format: ``newrt|start``, ``rte|<mtype>[,<sender>]|<host:port>[,;...]`` lines,
    ``newrt|end``; ``#`` comments and blank lines ignored. ValueError on anything else (or a repeated type)."""
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines or lines[0][1] != "newrt|start" or lines[-1][1] != "newrt|end":
        raise ValueError("a route table is newrt|start ... newrt|end")
    routes: dict[int, list[str]] = {}
    for n, line in lines[1:-1]:
        m = _RTE.match(line)
        if m is None:
            raise ValueError(f"line {n}: not rte|<mtype>|<host:port>: {line!r}")
        mtype = int(m.group(1))
        if mtype in routes:
            raise ValueError(f"line {n}: message type {mtype} routed twice")
        routes[mtype] = re.split(r"[,;]", m.group(2))
    return routes


def image_file(path: str) -> Path:
    """The file of this checkout that ``path`` of the adapter image is: followed back through the final stage's
    ``COPY --from=<stage>`` and that stage's ``COPY <context path>``. AssertionError when no COPY brings it."""
    parsed = df.parse(DOCKERFILE)
    stages = {s.name: s for s in parsed.stages if s.name}
    want, stage = PurePosixPath(path), parsed.final
    while True:
        for ins in reversed(stage.all("COPY")):
            words = ins.args.split()
            flags = {w.split("=")[0]: w.partition("=")[2] for w in words if w.startswith("--")}
            src, dest = [PurePosixPath(w) for w in words if not w.startswith("--")]
            if want == dest or dest in want.parents:
                rest = want.relative_to(dest)
                if "--from" in flags:
                    want, stage = src / rest, stages[flags["--from"]]
                    break
                return ROOT / src / rest
        else:
            raise AssertionError(f"{path}: no COPY in {DOCKERFILE.name} brings it into the image")


def test_adapter_objects_validate_and_are_hardened(docs: list[dict[str, Any]]) -> None:
    objs = _objs(docs)
    for kind in ("Deployment", "Service", "ServiceAccount", "NetworkPolicy"):
        assert (kind, NAME) in objs, kind
        kubernetes_validate.validate(objs[(kind, NAME)], K8S_VERSION, strict=True)
        assert objs[(kind, NAME)]["metadata"]["namespace"] == "ricxapp"
    dep = objs[("Deployment", NAME)]
    pod = dep["spec"]["template"]["spec"]
    c = _container(dep)
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == NAME
    assert objs[("ServiceAccount", NAME)]["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert c["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]}}
    assert c["resources"]["requests"]
    assert c["resources"]["limits"]
    assert c["command"] == ["python", "-m", "adapter"] == df.exec_form(df.parse(DOCKERFILE).final.all("CMD")[-1].args)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"rmr-data": RMR_DATA, "rmr-route": RMR_ROUTE}
    # no HTTP server in the adapter: both probes connect to the RMR data port, as its image's HEALTHCHECK does
    for probe in ("livenessProbe", "readinessProbe"):
        assert c[probe]["tcpSocket"]["port"] in ("rmr-data", RMR_DATA), probe
    assert f"{RMR_DATA}" in df.parse(DOCKERFILE).final.all("HEALTHCHECK")[-1].args
    svc = objs[("Service", NAME)]["spec"]
    assert svc["selector"] == dep["spec"]["selector"]["matchLabels"]
    assert {p["name"]: (p["port"], p["targetPort"]) for p in svc["ports"]} == {n: (p, n) for n, p in ports.items()}
    # ricxappframe registers as $HOSTNAME, with its RMR endpoint from SERVICE_RICXAPP_<HOSTNAME>_RMR_PORT
    env = _env(dep)
    host = pod["hostname"].upper().replace("-", "_")
    assert env[f"SERVICE_RICXAPP_{host}_RMR_PORT"] == f"tcp://{NAME}.ricxapp:{RMR_DATA}"
    assert env[f"SERVICE_RICXAPP_{host}_HTTP_PORT"].startswith("tcp://nextric-slice-scheduler.ricxapp:")
    assert env["NEXTRIC_OSC_POLICY_URL"] == "http://nextric-policy:8080"
    assert json.loads(env["NEXTRIC_OSC_POLICY_TYPES"]) == {"20008": "ORAN_SliceSLATarget_1.0.0"}


def test_adapter_token_is_a_secret_file(docs: list[dict[str, Any]]) -> None:
    dep = _objs(docs)[("Deployment", NAME)]
    env, c = _env(dep), _container(dep)
    assert "NEXTRIC_OSC_POLICY_TOKEN" not in env
    path = PurePosixPath(env["NEXTRIC_OSC_POLICY_TOKEN_FILE"])
    (mount,) = [m for m in c["volumeMounts"] if PurePosixPath(m["mountPath"]) == path.parent]
    assert mount["readOnly"] is True
    (vol,) = [v for v in dep["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"]]
    assert vol["secret"]["secretName"] == "nextric-tokens"
    assert vol["secret"]["items"] == [{"key": "operator", "path": path.name}]  # policy writes: the operator role
    assert vol["secret"]["defaultMode"] in (0o400, 0o440)
    assert dep["spec"]["template"]["spec"]["securityContext"]["fsGroup"] == 10001


def test_adapter_network_policy_fits_the_overlay(docs: list[dict[str, Any]]) -> None:
    objs = _objs(docs)
    labels = objs[("Deployment", NAME)]["spec"]["template"]["metadata"]["labels"]
    own = objs[("NetworkPolicy", NAME)]["spec"]
    assert own["podSelector"]["matchLabels"] == objs[("Deployment", NAME)]["spec"]["selector"]["matchLabels"]
    assert own["policyTypes"] == ["Ingress"]
    (rule,) = own["ingress"]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ricplt"}}}]
    assert rule["ports"] == [{"port": RMR_DATA, "protocol": "TCP"}, {"port": RMR_ROUTE, "protocol": "TCP"}]
    # not one of the suite's pods: the suite's default deny does not select it, and nextric-oran-sc admits it to the
    # policy API (8080) as one of the pods beside the suite
    deny = objs[("NetworkPolicy", "nextric-default-deny")]["spec"]["podSelector"]["matchLabels"]
    assert not set(deny.items()) <= set(labels.items())
    (beside,) = objs[("NetworkPolicy", "nextric-oran-sc")]["spec"]["ingress"][0]["from"]
    (expr,) = beside["podSelector"]["matchExpressions"]
    assert expr["operator"] == "NotIn"
    assert labels.get(expr["key"]) not in expr["values"]
    assert {"port": 8080, "protocol": "TCP"} in objs[("NetworkPolicy", "nextric-oran-sc")]["spec"]["ingress"][0][
        "ports"]


def test_config_file_and_route_table_are_in_the_image(docs: list[dict[str, Any]]) -> None:
    """CONFIG_FILE and RMR_SEED_RT: the same path in the image's ENV and the manifest, each a file the image
    ships (a COPY of this checkout's deploy/osc/config)."""
    image_env = df.env_of(df.parse(DOCKERFILE).final)
    env = _env(_objs(docs)[("Deployment", NAME)])
    for key in ("CONFIG_FILE", "RMR_SEED_RT"):
        assert env[key] == image_env[key], key
        assert image_file(image_env[key]).is_file(), f"{key}={image_env[key]}: not shipped"
    assert image_file(image_env["CONFIG_FILE"]) == OSC / "config" / "config-file.json"
    assert image_file(image_env["RMR_SEED_RT"]) == OSC / "config" / "routes.rt"
    with pytest.raises(AssertionError, match="no COPY"):
        image_file("/opt/route/test_route.rt")


def test_descriptor_is_valid_and_declares_the_messages() -> None:
    assert validate(OSC / "config", default_schema_path(ROOT)) == []
    config = json.loads((OSC / "config" / "config-file.json").read_text())
    assert config["name"] == NAME
    ports = {p["name"]: p for p in config["messaging"]["ports"]}
    assert (ports["rmr-data"]["port"], ports["rmr-route"]["port"]) == (RMR_DATA, RMR_ROUTE)
    types = _message_types()
    assert ports["rmr-data"]["rxMessages"] == config["rmr"]["rxMessages"] == ["A1_POLICY_REQ"]
    assert set(ports["rmr-data"]["txMessages"]) == set(config["rmr"]["txMessages"]) == set(types) - {"A1_POLICY_REQ"}
    assert ports["rmr-data"]["policies"] == [20008]


def test_route_table_parses_and_routes_every_message_type() -> None:
    routes = parse_route_table((OSC / "config" / "routes.rt").read_text())
    types = _message_types()
    assert types == {"A1_POLICY_REQ": 20010, "A1_POLICY_RESP": 20011, "A1_POLICY_QUERY": 20012}
    assert set(types.values()) <= set(routes), f"no route for {set(types.values()) - set(routes)}"
    a1mediator = "service-ricplt-a1mediator-rmr.ricplt:4562"
    assert routes[types["A1_POLICY_REQ"]] == [f"{NAME}.ricxapp:{RMR_DATA}"]  # to the adapter's Service
    assert routes[types["A1_POLICY_RESP"]] == routes[types["A1_POLICY_QUERY"]] == [a1mediator]


@pytest.mark.parametrize("text", [
    "rte|20010|h:1\nnewrt|end\n",
    "newrt|start\nrte|20010|h:1\n",
    "newrt|start\nrte|x|h:1\nnewrt|end\n",
    "newrt|start\nrte|20010|no-port\nnewrt|end\n",
    "newrt|start\nrte|20010|h:1\nrte|20010|h:2\nnewrt|end\n",
    "newrt|start\nmse 20010 h:1\nnewrt|end\n",
])
def test_route_table_parser_rejects_broken_tables(text: str) -> None:
    with pytest.raises(ValueError, match=r"newrt\|start|not rte|routed twice"):
        parse_route_table(text)
