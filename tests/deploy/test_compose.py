"""docker-compose.yml: parsed, interpolated from .env.example, services and commands resolvable, environment
names known to each app's settings, settings built from that environment, Prometheus and Grafana wired. The same for
the E2AP path: docker-compose.yml with the override deploy/compose.e2ap.yaml and the profile e2ap."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from tests.deploy.common import ROOT, components
from tools.deploycheck import compose

INFRA = {"base", "redis", "prometheus", "grafana"}
#: the ways to run the suite with Compose: files (-f, in order) and profiles (--profile)
PATHS: dict[str, tuple[tuple[str, ...], set[str]]] = {
    "default": (("docker-compose.yml",), set()),
    "e2ap": (("docker-compose.yml", "deploy/compose.e2ap.yaml"), {"e2ap"}),
}


def _raw(path: str = "default") -> dict[str, Any]:
    files, _ = PATHS[path]
    data: dict[str, Any] = {}
    for f in files:
        data = compose.merge(data, yaml.safe_load((ROOT / f).read_text()))
    return data


def _compose(path: str = "default") -> tuple[dict[str, Any], set[str]]:
    missing: set[str] = set()
    data = compose.interpolate(_raw(path), compose.read_env_file(ROOT / ".env.example"), missing)
    return data, missing


#: the tokens of the files the operator creates (docs/deploy.md), here made up for the tests
TEST_TOKENS = {"operator": "compose-operator-token-0123456789", "viewer": "compose-viewer-token-0123456789",
               "xapp": "compose-xapp-token-0123456789"}


def secret_contents() -> dict[str, str]:
    """What the operator puts in each Compose secret's file: the policy service's grants, and each token alone."""
    grants = [{"name": "operator", "token": TEST_TOKENS["operator"], "roles": ["operator"]},
              {"name": "viewer", "token": TEST_TOKENS["viewer"], "roles": ["viewer"]},
              {"name": "xapps", "token": TEST_TOKENS["xapp"], "roles": ["xapp"]}]
    return {"policy_tokens": json.dumps(grants), "xapp_token": TEST_TOKENS["xapp"] + "\n",
            "operator_token": TEST_TOKENS["operator"] + "\n"}


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


@pytest.mark.parametrize("path", sorted(PATHS))
def test_every_variable_comes_from_env_example(path: str) -> None:
    _, missing = _compose(path)
    assert missing == set(), f"variables used by {PATHS[path][0]} but not in .env.example: {sorted(missing)}"


@pytest.mark.parametrize("path", sorted(PATHS))
def test_started_services_depend_only_on_started_ones(path: str) -> None:
    data, _ = _compose(path)
    assert compose.dependency_problems(data, PATHS[path][1]) == []


def test_optional_components_start_only_with_their_profile() -> None:
    data, _ = _compose()
    optional = {n: c["profile"] for n, c in components().items() if c.get("profile")}
    assert optional, "deploy/components.yaml names no optional component"
    for name, profile in optional.items():
        assert data["services"][name]["profiles"] == [profile], name
        assert name not in compose.active_services(data, set()), f"{name} starts without --profile {profile}"
        assert name in compose.active_services(data, {profile}), name
    assert compose.active_services(data, set()).keys() == set(data["services"]) - set(optional)
    # and the override needs the profile: Compose refuses it without (its services depend on e2term)
    e2ap, _ = _compose("e2ap")
    assert compose.dependency_problems(e2ap, set()) != [], "deploy/compose.e2ap.yaml must require the e2ap profile"


def test_override_only_rewires_existing_services() -> None:
    override = yaml.safe_load((ROOT / "deploy" / "compose.e2ap.yaml").read_text())
    base = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert set(override) == {"services"}
    assert set(override["services"]) <= set(base["services"]), "define services in docker-compose.yml (profiles)"
    for name, svc in override["services"].items():
        assert set(svc) <= {"environment", "depends_on"}, name


def test_merge_follows_compose() -> None:
    base = {"services": {"a": {"command": ["x", "1"], "ports": ["1:1"], "environment": {"A": "1", "B": "2"},
                               "depends_on": {"r": {"condition": "service_healthy"}}},
                         "r": {"image": "r"}}}
    over = {"services": {"a": {"command": ["y"], "ports": ["2:2"], "environment": {"B": "3"},
                               "depends_on": {"b": {"condition": "service_started"}}},
                         "b": {"image": "b", "profiles": ["p"]}}}
    merged = compose.merge(base, over)
    assert merged["services"]["a"] == {"command": ["y"], "ports": ["1:1", "2:2"], "environment": {"A": "1", "B": "3"},
                                       "depends_on": {"r": {"condition": "service_healthy"},
                                                      "b": {"condition": "service_started"}}}
    assert merged["services"]["r"] == {"image": "r"}
    assert compose.dependency_problems(merged, {"p"}) == []
    assert compose.dependency_problems(merged, set()) == ["a depends on b, which is disabled by its profiles"]
    del merged["services"]["r"]
    assert compose.dependency_problems(merged, {"p"}) == ["a depends on r, which is undefined"]


@pytest.mark.parametrize("path", sorted(PATHS))
def test_no_hard_coded_host_ports_or_secrets(path: str) -> None:
    raw = _raw(path)
    for name, svc in raw["services"].items():
        for port in svc.get("ports", []):
            m = re.fullmatch(r"(\$\{[^}]*\}):(\$\{[^}]*\}):(.+)", str(port))
            assert m, f"{name}: {port!r} must be <publish address>:<host port>:<container port>, both from .env"
            assert m.group(1) == "${NEXTRIC_PUBLISH_ADDRESS:?set it in .env}", f"{name}: {port!r} binds elsewhere"
        env = svc.get("environment", {})
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
        assert set(spec) == {"file"}, f"secret {secret}: file-based"
        assert spec["file"].startswith("${"), f"secret {secret}: its file comes from .env"


@pytest.mark.parametrize("path", sorted(PATHS))
def test_published_ports_bind_to_loopback_by_default(path: str) -> None:
    data, _ = _compose(path)
    assert compose.read_env_file(ROOT / ".env.example")["NEXTRIC_PUBLISH_ADDRESS"] == "127.0.0.1"
    for name, svc in data["services"].items():
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port!r} is published beyond this host"


@pytest.mark.parametrize("path", sorted(PATHS))
def test_secrets_are_mounted_where_the_settings_read_them(path: str) -> None:
    data, _ = _compose(path)
    assert compose.secret_problems(data, PATHS[path][1]) == []
    services = data["services"]
    assert compose.service_secrets(services["policy"]) == {"/run/secrets/policy_tokens": "policy_tokens"}
    assert services["policy"]["environment"]["NEXTRIC_POLICY_TOKENS_FILE"] == "/run/secrets/policy_tokens"
    assert services["slice-scheduler"]["environment"]["NEXTRIC_XAPP_SLICE_POLICY__TOKEN_FILE"] == \
        "/run/secrets/xapp_token"
    assert services["intent-agent"]["environment"]["NEXTRIC_RAPP_POLICY__TOKEN_FILE"] == "/run/secrets/operator_token"
    # only the services that use a token mount one
    assert {n for n, s in services.items() if s.get("secrets")} == {"policy", "slice-scheduler", "intent-agent"}
    # .env.example names files under ./secrets, which the operator creates (docs/deploy.md)
    env = compose.read_env_file(ROOT / ".env.example")
    for name, spec in data["secrets"].items():
        assert spec["file"].startswith("./secrets/"), (name, spec)
        assert spec["file"] in env.values()
    assert "secrets/" in (ROOT / "docs" / "deploy.md").read_text()


def test_secret_problems_are_caught() -> None:
    data = {"secrets": {"a": {"file": "./a"}, "b": {"environment": "B"}},
            "services": {"s": {"secrets": ["a", {"source": "c", "target": "c2"}],
                               "environment": {"X_FILE": "/run/secrets/a", "Y_FILE": "/run/secrets/nope"}}}}
    assert compose.secret_problems(data, set()) == [
        "secret b: not file-based (['environment'])", "s: secret c is not defined",
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
    assert compose.read_env_file(ROOT / ".env.example")["NEXTRIC_REDIS_PASSWORD"]
    for path in PATHS:
        data, _ = _compose(path)
        password = compose.read_env_file(ROOT / ".env.example")["NEXTRIC_REDIS_PASSWORD"]
        urls = [(n, k, v) for n, s in data["services"].items() for k, v in (s.get("environment") or {}).items()
                if str(v).startswith(("redis://", "rediss://"))]
        assert len(urls) >= 5, urls
        for name, key, url in urls:
            assert url.startswith(f"redis://:{password}@redis:6379/"), (path, name, key)


def test_services_match_components() -> None:
    data, _ = _compose()
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
    data, _ = _compose()
    problems = [f"{name}: {p}" for name, c in components().items()
                for p in compose.module_problems(data["services"][name]["command"][2])]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("name", sorted(components()))
def test_environment_fits_settings(name: str, path: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data, _ = _compose(path)
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
    for key, value in env.items():
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
    data, _ = _compose()
    mounts = data["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{dash_path}:ro" in mounts
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
