"""docker-compose.yml: parsed, interpolated from .env.example, services and commands resolvable, environment
names known to each app's settings, settings built from that environment, Prometheus and Grafana wired. The same for
the E2AP path: docker-compose.yml with the override deploy/compose.e2ap.yaml and the profile e2ap."""

from __future__ import annotations

import json
import os
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
            host = str(port).rsplit(":", 1)[0]
            assert host.startswith("${"), f"{name}: host port {port!r} must come from .env"
        env = svc.get("environment", {})
        for key, value in env.items():
            if any(w in key for w in ("TOKEN", "PASSWORD", "SECRET")):
                assert "${" in str(value), f"{name}: {key} is hard-coded"
    tokens = raw["services"]["policy"]["environment"]["NEXTRIC_POLICY_TOKENS"]
    assert tokens.count("${") == 3


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
def test_environment_fits_settings(name: str, path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data, _ = _compose(path)
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
