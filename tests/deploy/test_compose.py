"""docker-compose.yml as Docker Compose itself renders it (Compose v2, ``tools/deploycheck/compose.py``; no Docker
engine): validated against the compose-spec schema, interpolated from .env.example, services and commands resolvable,
environment names known to each app's settings, settings built from that environment, Prometheus and Grafana wired.
The same for the E2AP path: docker-compose.yml with the override deploy/compose.e2ap.yaml and the profile e2ap."""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from tests.deploy.common import ROOT, components
from tools import certs
from tools.deploycheck import compose

INFRA = {"base", "redis", "prometheus", "grafana"}
#: the ways to run the suite with Compose: files (-f, in order) and profiles (--profile)
PATHS: dict[str, tuple[tuple[str, ...], set[str]]] = {
    "default": (("docker-compose.yml",), set()),
    "e2ap": (("docker-compose.yml", "deploy/compose.e2ap.yaml"), {"e2ap"}),
}


@functools.cache
def _render(path: str, interpolate: bool) -> tuple[str, tuple[str, ...]]:
    files, profiles = PATHS[path]
    data, warnings = compose.config(files, sorted(profiles), interpolate=interpolate)
    return json.dumps(data), tuple(warnings)


def _raw(path: str = "default") -> dict[str, Any]:
    """The files merged by Compose, profiles applied, ``${...}`` as written (``config --no-interpolate``)."""
    data: dict[str, Any] = json.loads(_render(path, False)[0])
    return data


def _compose(path: str = "default") -> dict[str, Any]:
    """The model Compose renders for the path (``config``; only the services it starts), a fresh copy."""
    data: dict[str, Any] = json.loads(_render(path, True)[0])
    return copy.deepcopy(data)


#: the tokens of the files the operator creates (docs/deploy.md), here made up for the tests
TEST_TOKENS = {"operator": "compose-operator-token-0123456789", "viewer": "compose-viewer-token-0123456789",
               "xapp": "compose-xapp-token-0123456789"}


#: the E2 clients and the E2 roles each needs, least privilege (nextric/e2/auth.py), as docs/deploy.md grants them
E2_ROLES: dict[str, set[str]] = {
    "slice-scheduler": {"kpm", "control"}, "beam-predictor": {"kpm", "control"}, "ce-selector": {"kpm", "control"},
    "transport-steering": {"transport"}, "intent-agent": {"kpm", "twin"},
}
_E2, _TN = "/nextric.e2.v1.E2Node/", "/nextric.transport.v1.TransportController/"
_TWIN = "/nextric.twin.v1.DigitalTwin/"
#: the RPCs each E2 client calls (its code: xapps/*/app.py, rapps/intent_agent/app.py)
E2_CALLS: dict[str, set[str]] = {
    "slice-scheduler": {_E2 + "ListNodes", _E2 + "Subscribe", _E2 + "DeleteSubscription", _E2 + "Control"},
    "beam-predictor": {_E2 + "ListNodes", _E2 + "Subscribe", _E2 + "DeleteSubscription", _E2 + "Control"},
    "ce-selector": {_E2 + "ListNodes", _E2 + "Subscribe", _E2 + "DeleteSubscription", _E2 + "Control"},
    "transport-steering": {_TN + "WatchLinks", _TN + "SetShares"},
    "intent-agent": {_E2 + "ListNodes", _E2 + "Subscribe", _E2 + "DeleteSubscription", _TWIN + "Describe",
                     _TWIN + "Rollout"},
}
#: RPCs that change the network or read the ground truth: only the components whose calls include them may
SENSITIVE = {_E2 + "Control", _TN + "SetShares", _TWIN + "Rollout", "/nextric.evaluation.v1.Evaluation/GetBeamTruth"}
#: the E2 client tokens of the test (16+ characters, as the E2 servers require)
E2_TEST_TOKENS = {name: f"{name}-e2-token-0123456789" for name in E2_ROLES}


def e2_grants(tokens: dict[str, str]) -> list[dict[str, Any]]:
    """The E2 servers' tokens.json as docs/deploy.md makes it: one grant per client, named after it, its roles."""
    return [{"name": name, "token": tokens[name], "roles": sorted(E2_ROLES[name])} for name in E2_ROLES]


def check_e2_grants(grants: list[dict[str, Any]], where: str) -> None:
    """Each E2 client's grant allows every RPC it calls, no sensitive RPC it does not call, and no role beyond the
    table's; no admin, no evaluation."""
    from nextric.e2.auth import GrpcTokenGrant, allowed, load_grants

    parsed = load_grants([GrpcTokenGrant.model_validate(g) for g in grants], None)  # what the servers accept
    by_name = {g.name: g for g in parsed}
    assert set(by_name) == set(E2_ROLES), f"{where}: grants for {sorted(by_name)}"
    assert len({g.token.get_secret_value() for g in parsed}) == len(parsed), f"{where}: a token is shared"
    for name, grant in by_name.items():
        assert set(grant.roles) == E2_ROLES[name], (where, name, grant.roles)
        for method in E2_CALLS[name]:
            assert allowed(grant.roles, method), f"{where}: {name} may not call {method}"
        for method in SENSITIVE - E2_CALLS[name]:
            assert not allowed(grant.roles, method), f"{where}: {name} may call {method}"


def e2_secret_name(component: str) -> str:
    """The Compose secret holding one E2 client's token."""
    return component.replace("-", "_") + "_e2_token"


@functools.cache
def _e2_tls() -> dict[str, str]:
    """The E2 TLS files as ``python -m tools.certs secrets/e2-tls`` makes them (one CA per test session)."""
    issued = certs.issue(Path(tempfile.mkdtemp(prefix="nextric-e2-tls-")), certs.server_names(), days=1)
    return {"e2_tls_cert": issued.server_cert.read_text(), "e2_tls_key": issued.server_key.read_text(),
            "e2_ca": issued.ca_cert.read_text()}


def secret_contents() -> dict[str, str]:
    """What the operator puts in each Compose secret's file: the policy service's grants, and each token alone; the
    E2 servers' grants, and each E2 client's token alone; the E2 TLS certificate, key and CA (tools/certs.py)."""
    grants = [{"name": "operator", "token": TEST_TOKENS["operator"], "roles": ["operator"]},
              {"name": "viewer", "token": TEST_TOKENS["viewer"], "roles": ["viewer"]},
              {"name": "xapps", "token": TEST_TOKENS["xapp"], "roles": ["xapp"]}]
    return {"policy_tokens": json.dumps(grants), "xapp_token": TEST_TOKENS["xapp"] + "\n",
            "operator_token": TEST_TOKENS["operator"] + "\n",
            "e2_tokens": json.dumps(e2_grants(E2_TEST_TOKENS)),
            **{e2_secret_name(n): token + "\n" for n, token in E2_TEST_TOKENS.items()}, **_e2_tls()}


OPERATOR_REDIS_PASSWORD = "redis-password-" + "0123456789abcdef"  #: what the operator puts in .env


def with_operator_passwords(data: Any) -> Any:
    """``data`` (a rendered compose model, or part of it) with .env.example's Redis password replaced as the operator
    does (`cp .env.example .env`, then edit): the services refuse the example value at start-up."""
    example = re.search(r"^NEXTRIC_REDIS_PASSWORD=(\S+)", (ROOT / ".env.example").read_text(), re.M)
    assert example is not None, ".env.example sets no NEXTRIC_REDIS_PASSWORD"
    return json.loads(json.dumps(data).replace(example.group(1), OPERATOR_REDIS_PASSWORD))


def write_secrets(data: dict[str, Any], folder: Path) -> dict[str, Path]:
    """Create the secrets' files in ``folder`` and point the model's ``secrets`` at them (secret name -> file)."""
    folder.mkdir(parents=True, exist_ok=True)
    contents = secret_contents()
    assert set(data.get("secrets") or {}) == set(contents), "a Compose secret this test does not know"
    files = {}
    for name, text in contents.items():
        files[name] = folder / name
        files[name].write_text(text)
        data["secrets"][name]["file"] = str(files[name])
    return files


def test_compose_is_the_pinned_version() -> None:
    assert compose.version() == compose.COMPOSE_VERSION, "make compose-check installs the pinned Compose"


@pytest.mark.parametrize("path", sorted(PATHS))
def test_compose_accepts_the_files_and_every_variable_comes_from_env_example(path: str) -> None:
    """Compose renders the path: schema-valid, every ``${VAR:?}`` set by .env.example (else it refuses), every
    started service's ``depends_on`` started too (else it refuses), and no warning (an unset plain ``${VAR}``)."""
    _, warnings = _render(path, True)
    assert warnings == (), f"Compose warns on {PATHS[path][0]}: {warnings}"


def test_optional_components_start_only_with_their_profile() -> None:
    data = _compose()
    optional = {n: c["profile"] for n, c in components().items() if c.get("profile")}
    assert optional, "deploy/components.yaml names no optional component"
    for name, profile in optional.items():
        assert name not in data["services"], f"{name} starts without --profile {profile}"
        on, _ = compose.config(["docker-compose.yml"], [profile])
        assert on["services"][name]["profiles"] == [profile], name
        assert set(on["services"]) - set(data["services"]) == {name}, profile
    assert set(data["services"]) == set(components()) - set(optional) | INFRA


def test_override_needs_its_profile() -> None:
    """Compose refuses deploy/compose.e2ap.yaml without --profile e2ap: its services depend on e2term."""
    with pytest.raises(compose.ComposeError, match='depends on undefined service "e2term"'):
        compose.config(PATHS["e2ap"][0])


def test_override_only_rewires_existing_services() -> None:
    override = yaml.safe_load((ROOT / "deploy" / "compose.e2ap.yaml").read_text())
    base = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert set(override) == {"services"}
    assert set(override["services"]) <= set(base["services"]), "define services in docker-compose.yml (profiles)"
    for name, svc in override["services"].items():
        assert set(svc) <= {"environment", "depends_on"}, name


def _broken(tmp_path: Path, text: str, env: str = "") -> None:
    (tmp_path / "compose.yaml").write_text(text)
    (tmp_path / ".env").write_text(env)
    compose.config(["compose.yaml"], env_file=".env", project_dir=tmp_path)


BROKEN = {
    "unknown key": ("services:\n  a:\n    image: x\n    imagee: y\n", "additional properties 'imagee' not allowed"),
    "unknown top-level key": ("servicez:\n  a:\n    image: x\n", "additional properties 'servicez' not allowed"),
    "wrong type": ("services:\n  a:\n    image: x\n    read_only: maybe\n", "read_only"),
    "required variable unset": ("services:\n  a:\n    image: x:${NOPE:?set NOPE}\n",
                                "required variable NOPE is missing a value: set NOPE"),
    "bad interpolation": ("services:\n  a:\n    image: x:${NOPE\n", "invalid interpolation format"),
    "depends on a profile's service": (
        "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: y\n    profiles: [p]\n",
        'depends on undefined service "b"'),
    "secret undefined": ("services:\n  a:\n    image: x\n    secrets: [s]\n", "undefined secret"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_compose_rejects_broken_files(case: str, tmp_path: Path) -> None:
    text, message = BROKEN[case]
    with pytest.raises(compose.ComposeError, match=re.escape(message)):
        _broken(tmp_path, text)


def test_compose_warns_on_an_unset_variable(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  a:\n    image: x:${UNSET_ONE}\n")
    (tmp_path / ".env").write_text("")
    data, warnings = compose.config(["compose.yaml"], env_file=".env", project_dir=tmp_path)
    assert data["services"]["a"]["image"] == "x:"
    assert any('UNSET_ONE' in w and 'variable is not set' in w for w in warnings), warnings


def test_compose_merges_an_override(tmp_path: Path) -> None:
    """What the E2AP override relies on: mappings merged key by key, the profile's service started with it."""
    (tmp_path / "a.yaml").write_text("services:\n  a:\n    image: x\n    environment: {A: '1', B: '2'}\n"
                                     "    depends_on: {r: {condition: service_started}}\n  r:\n    image: r\n"
                                     "  b:\n    image: b\n    profiles: [p]\n")
    (tmp_path / "b.yaml").write_text("services:\n  a:\n    environment: {B: '3'}\n"
                                     "    depends_on: {b: {condition: service_healthy}}\n")
    (tmp_path / ".env").write_text("")
    data, _ = compose.config(["a.yaml", "b.yaml"], ["p"], env_file=".env", project_dir=tmp_path)
    a = data["services"]["a"]
    assert a["environment"] == {"A": "1", "B": "3"}
    assert {k: v["condition"] for k, v in a["depends_on"].items()} == {"r": "service_started", "b": "service_healthy"}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_no_hard_coded_host_ports_or_secrets(path: str) -> None:
    raw = _raw(path)
    for name, svc in raw["services"].items():
        for port in svc.get("ports", []):
            m = re.fullmatch(r"(\$\{[^}]*\}):(\$\{[^}]*\}):(.+)", str(port))
            assert m, f"{name}: {port!r} must be <publish address>:<host port>:<container port>, both from .env"
            assert m.group(1) == "${NEXTRIC_PUBLISH_ADDRESS:?set it in .env}", f"{name}: {port!r} binds elsewhere"
        env = svc.get("environment") or {}
        if isinstance(env, list):  # Compose leaves a merged environment uninterpolated in its list form
            env = dict(e.partition("=")[::2] for e in env)
        for key, value in env.items():
            # no token in the environment at all: each is a file (a Compose secret)
            assert not key.endswith(("TOKEN", "TOKENS")), f"{name}: {key}: a token in the environment"
            if key.endswith(("TOKEN_FILE", "TOKENS_FILE")):
                assert str(value).startswith(compose.SECRETS_DIR + "/"), f"{name}: {key} is no Compose secret"
            elif any(w in key for w in ("TOKEN", "PASSWORD", "SECRET", "AUTH")):
                assert "${" in str(value), f"{name}: {key} is hard-coded"
            if str(value).startswith(("redis://", "rediss://")):
                assert "${NEXTRIC_REDIS_PASSWORD}@" in str(value), f"{name}: {key} without auth"
    for secret, spec in raw["secrets"].items():
        assert set(spec) == {"file", "name"}, f"secret {secret}: file-based"
        assert spec["file"].startswith(f"{ROOT}/${{"), f"secret {secret}: its file comes from .env"


@pytest.mark.parametrize("path", sorted(PATHS))
def test_published_ports_bind_to_loopback_by_default(path: str) -> None:
    data = _compose(path)
    published = [(name, port) for name, svc in data["services"].items() for port in svc.get("ports", [])]
    assert len(published) >= 5, published
    for name, port in published:
        assert port["host_ip"] == "127.0.0.1", f"{name}: {port!r} is published beyond this host"


@pytest.mark.parametrize("path", sorted(PATHS))
def test_secrets_are_mounted_where_the_settings_read_them(path: str) -> None:
    data = _compose(path)
    assert compose.secret_problems(data) == []
    services = data["services"]
    assert compose.service_secrets(services["policy"]) == {"/run/secrets/policy_tokens": "policy_tokens"}
    assert services["policy"]["environment"]["NEXTRIC_POLICY_TOKENS_FILE"] == "/run/secrets/policy_tokens"
    assert services["slice-scheduler"]["environment"]["NEXTRIC_XAPP_SLICE_POLICY__TOKEN_FILE"] == \
        "/run/secrets/xapp_token"
    assert services["intent-agent"]["environment"]["NEXTRIC_RAPP_POLICY__TOKEN_FILE"] == "/run/secrets/operator_token"
    # only the services that use a token mount one
    servers = {"testbed"} | ({"e2term"} if "e2term" in services else set())
    assert {n for n, s in services.items() if s.get("secrets")} == {"policy"} | servers | set(E2_ROLES)
    _check_e2_secrets(services, servers, path)
    # .env.example names files under ./secrets, which the operator creates (docs/deploy.md)
    for name, spec in data["secrets"].items():
        assert spec["file"].startswith(f"{ROOT}/secrets/"), (name, spec)
    assert "secrets/" in (ROOT / "docs" / "deploy.md").read_text()


def _check_e2_secrets(services: dict[str, Any], servers: set[str], where: str) -> None:
    """E2 authentication on: each E2 server reads the grants, each E2 client only its own token, through every E2
    target it is given (E2, the transport controller, the twin), and no other E2 token."""
    e2_secrets = {"e2_tokens"} | {e2_secret_name(n) for n in E2_ROLES}
    for name, svc in services.items():
        mounted = compose.service_secrets(svc)
        env = svc.get("environment") or {}
        held = {s for s in mounted.values() if s in e2_secrets}
        if name in servers:
            prefix = components()[name]["env_prefix"]
            assert held == {"e2_tokens"}, (where, name, held)
            assert env[f"{prefix}E2__TOKENS_FILE"] == f"{compose.SECRETS_DIR}/e2_tokens", (where, name)
        elif name in E2_ROLES:
            own = e2_secret_name(name)
            assert held == {own}, (where, name, held)
            targets = [k.removesuffix("TARGET") for k in env if k.endswith("__TARGET")]
            assert targets, (where, name)
            for target in targets:
                assert env[f"{target}TOKEN_FILE"] == f"{compose.SECRETS_DIR}/{own}", (where, name, target)
        else:
            assert not held, (where, name, held)


@pytest.mark.parametrize("path", sorted(PATHS))
def test_e2_tokens_grant_least_privilege(path: str, tmp_path: Path) -> None:
    """The E2 grants the operator writes (secret e2_tokens, docs/deploy.md) give each client the roles it needs and
    no more, and the token file each client mounts is the one its grant names."""
    data = _compose(path)
    files = write_secrets(data, tmp_path)
    grants = json.loads(files["e2_tokens"].read_text())
    check_e2_grants(grants, f"compose {path}")
    tokens = {g["name"]: g["token"] for g in grants}
    for name in E2_ROLES:
        (secret,) = [s for s in compose.service_secrets(data["services"][name]).values() if s.endswith("_e2_token")]
        assert files[secret].read_text().strip() == tokens[name], (path, name)
    docs = (ROOT / "docs" / "deploy.md").read_text()
    for name in E2_ROLES:
        assert e2_secret_name(name) in docs, f"docs/deploy.md: how to make {name}'s E2 token"


def test_secret_problems_are_caught() -> None:
    data = {"secrets": {"a": {"name": "p_a", "file": "/x/a"}, "b": {"name": "p_b", "environment": "B"}},
            "services": {"s": {"secrets": [{"source": "a", "target": "/run/secrets/a"},
                                           {"source": "c", "target": "c2"}],
                               "environment": {"X_FILE": "/run/secrets/a", "Y_FILE": "/run/secrets/nope"}}}}
    assert compose.secret_problems(data) == [
        "secret b: not file-based (['environment', 'name'])", "s: secret c is not defined",
        "s: Y_FILE=/run/secrets/nope is no secret it mounts"]
    assert compose.service_secrets(data["services"]["s"]) == {"/run/secrets/a": "a", "/run/secrets/c2": "c"}


def test_redis_requires_the_password() -> None:
    """The compose Redis runs with requirepass from .env, its healthcheck authenticates, and every Redis URL of every
    service (on every path) carries that password."""
    redis = _raw()["services"]["redis"]
    command = redis["command"]
    assert re.fullmatch(r"\$\{NEXTRIC_REDIS_PASSWORD:\?[^}]*\}", command[command.index("--requirepass") + 1])
    assert redis["environment"]["REDISCLI_AUTH"] == "${NEXTRIC_REDIS_PASSWORD}"
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]  # redis-cli reads REDISCLI_AUTH
    for path in PATHS:
        data = _compose(path)
        command = data["services"]["redis"]["command"]
        password = command[command.index("--requirepass") + 1]
        assert password, path
        assert data["services"]["redis"]["environment"]["REDISCLI_AUTH"] == password
        urls = [(n, k, v) for n, s in data["services"].items() for k, v in (s.get("environment") or {}).items()
                if str(v).startswith(("redis://", "rediss://"))]
        assert len(urls) >= 5, urls
        for name, key, url in urls:
            assert url.startswith(f"redis://:{password}@redis:6379/"), (path, name, key)


def test_services_match_components() -> None:
    data = _compose("e2ap")  # every service started: the optional ones too
    comps = components()
    assert set(data["services"]) == set(comps) | INFRA
    for name, c in comps.items():
        svc = data["services"][name]
        assert svc.get("profiles", []) == ([c["profile"]] if c.get("profile") else []), name
        assert svc["command"] == ["python", "-m", c["module"]], name
        assert svc["build"]["dockerfile"] == c["dockerfile"], name
        assert svc["build"]["additional_contexts"] == {"nextric-base": "service:base"}, name
        assert (ROOT / c["dockerfile"]).exists()
    assert data["services"]["base"]["build"]["dockerfile"] == "deploy/docker/base.Dockerfile"


def test_commands_resolvable() -> None:
    """Every service's ``python -m`` module exists with a ``__main__`` (fails, naming them, while one is missing)."""
    data = _compose("e2ap")
    problems = [f"{name}: {p}" for name, c in components().items()
                for p in compose.module_problems(data["services"][name]["command"][2])]
    assert problems == [], "\n".join(problems)


def _started(path: str) -> list[str]:
    """The components a path starts: all but the optional ones whose profile it does not enable."""
    return sorted(n for n, c in components().items() if not c.get("profile") or c["profile"] in PATHS[path][1])


@pytest.mark.parametrize(("path", "name"), [(p, n) for p in sorted(PATHS) for n in _started(p)])
def test_environment_fits_settings(name: str, path: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = _compose(path)
    files = write_secrets(data, tmp_path)  # the operator's files, where Compose would mount them
    svc = data["services"][name]
    for target, secret in compose.service_secrets(svc).items():
        for key, value in list(svc.get("environment", {}).items()):
            if value == target:
                svc["environment"][key] = str(files[secret])
    c = components()[name]
    cls = compose.settings_class(c["module"], c["env_prefix"])
    assert cls is not None, f"{name}: no settings class with env_prefix {c['env_prefix']} (module missing?)"
    env = {k: str(v) for k, v in data["services"][name].get("environment", {}).items()}
    assert all(k.startswith(c["env_prefix"]) for k in env), f"{name}: variables outside {c['env_prefix']}"
    assert compose.unknown_env_names(cls, c["env_prefix"], list(env)) == []
    for key in list(os.environ):
        if key.startswith("NEXTRIC_"):
            monkeypatch.delenv(key)
    for key, value in with_operator_passwords(env).items():
        monkeypatch.setenv(key, value)
    cls()  # the values validate too (types, ranges)


def test_unknown_env_names_are_caught() -> None:
    from xapps.slice_scheduler.settings import SliceSchedulerSettings

    names = ["NEXTRIC_XAPP_SLICE_E2__TARGET", "NEXTRIC_XAPP_SLICE_SDL__REDIS_URL", "NEXTRIC_XAPP_SLICE_E2__TARGETT",
             "NEXTRIC_XAPP_SLICE_NOPE", "NEXTRIC_XAPP_SLICE_SHARD__VNODES"]
    assert compose.unknown_env_names(SliceSchedulerSettings, "NEXTRIC_XAPP_SLICE_", names) == [
        "NEXTRIC_XAPP_SLICE_E2__TARGETT", "NEXTRIC_XAPP_SLICE_NOPE"]
    assert compose.module_problems("xapps.no_such_xapp") == ["module 'xapps.no_such_xapp' does not exist"]
    assert "has no __main__" in compose.module_problems("nextric.obs")[0]


def test_prometheus_scrapes_every_app() -> None:
    prom = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in prom["scrape_configs"]}
    assert set(jobs) == set(components())
    for name, c in components().items():
        assert jobs[name]["dns_sd_configs"] == [{"names": [name], "type": "A", "port": c["http_port"]}]


def _exported_metric_names() -> set[str]:
    from nextric.e2.metrics import E2ServerMetrics
    from policy.metrics import PolicyMetrics
    from testbed.metrics import SliceKpiMetrics
    from xapps.beam_predictor.metrics import BeamMetrics
    from xapps.slice_scheduler.metrics import SliceMetrics

    registry = CollectorRegistry()
    for factory in (E2ServerMetrics, PolicyMetrics, SliceKpiMetrics, BeamMetrics, SliceMetrics):
        factory.create(registry)  # type: ignore[attr-defined]
    names: set[str] = set()
    for metric in registry.collect():
        names.add(metric.name)
        names.update(s.name for s in metric.samples)
        if metric.type == "counter":
            names.add(metric.name + "_total")
        if metric.type == "histogram":
            names.update(metric.name + s for s in ("_bucket", "_sum", "_count"))
    return names


def test_grafana_dashboard_is_provisioned_and_queries_real_metrics() -> None:
    prov = ROOT / "deploy" / "grafana" / "provisioning"
    ds = yaml.safe_load((prov / "datasources" / "prometheus.yaml").read_text())["datasources"][0]
    assert ds["url"] == "http://prometheus:9090"
    dash_path = yaml.safe_load((prov / "dashboards" / "nextric.yaml").read_text())["providers"][0]["options"]["path"]
    data = _compose()
    mounts = data["services"]["grafana"]["volumes"]
    assert {"type": "bind", "source": str(ROOT / "deploy" / "grafana" / "dashboards"), "target": dash_path,
            "read_only": True, "bind": {"create_host_path": True}} in mounts
    dash = json.loads((ROOT / "deploy" / "grafana" / "dashboards" / "nextric.json").read_text())
    titles = [p["title"] for p in dash["panels"] if p["type"] == "row"]
    assert titles == ["Per-slice KPIs (testbed, every cell)", "xApp decisions", "Guardrail verdicts (policy service)"]
    known = _exported_metric_names()
    import re

    for panel in dash["panels"]:
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == ds["uid"]
            for name in re.findall(r"\b(nextric_[a-z0-9_]+)\b", target["expr"]):
                if name.startswith("nextric_ce_selector_"):
                    continue  # matched by a regex over whatever the CE selector exports
                assert name in known, f"panel {panel['title']!r}: {name} is exported by no app"
