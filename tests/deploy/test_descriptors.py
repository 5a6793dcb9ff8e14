"""Every O-RAN SC xApp descriptor under deploy/xapps/<name>/ (config-file.json + schema.json): valid for the O-RAN SC
onboarder (nextric.descriptor with the onboarder's real schema, ../shared/reference/, controls checked by the app's
schema.json as the onboarder substitutes it), and the O-RAN SC conventions the platform relies on (probes on
ric/v1/health, http 8080 / rmr-data 4560 / rmr-route 4561, A1 policy types on the rmr data port, the container
command of the component). Onboarding end to end: tests/deploy/test_osc_onboarding.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nextric.descriptor import default_schema_path, validate
from tests.deploy.common import ROOT, components

FOLDERS = sorted(p for p in (ROOT / "deploy" / "xapps").iterdir() if (p / "config-file.json").exists())
PORTS = {"http": 8080, "rmr-data": 4560, "rmr-route": 4561}


@pytest.fixture(scope="module")
def schema() -> Path:
    """The O-RAN SC onboarder's schema: a clear error in the tests that need it when it is not there (the rest of
    the suite still runs)."""
    return default_schema_path(ROOT)


def test_every_xapp_component_has_a_descriptor() -> None:
    wanted = {c["descriptor"] for c in components().values() if c.get("xapp")}
    missing = sorted(wanted - {p.name for p in FOLDERS})
    assert missing == [], f"xApps without deploy/xapps/<name>/config-file.json: {missing}"


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_descriptor(folder: Path, schema: Path) -> None:
    assert validate(folder, schema) == []
    config = json.loads((folder / "config-file.json").read_text())
    (comp,) = [c for c in components().values() if c.get("descriptor") == folder.name]
    assert config["name"] == folder.name.replace("_", "-")
    (container,) = config["containers"]
    assert container["command"] == ["python", "-m", comp["module"]]
    assert container["image"]["name"].endswith("/" + config["name"])
    assert config["livenessProbe"]["httpGet"] == {"path": "ric/v1/health/alive", "port": PORTS["http"]}
    assert config["readinessProbe"]["httpGet"] == {"path": "ric/v1/health/ready", "port": PORTS["http"]}
    ports = {p["name"]: p for p in config["messaging"]["ports"]}
    assert {n: p["port"] for n, p in ports.items()} == PORTS
    data = ports["rmr-data"]
    assert data["rxMessages"]
    assert data["txMessages"]
    if data.get("policies"):  # A1 policies arrive over RMR: request in, response out
        assert "A1_POLICY_REQ" in data["rxMessages"]
        assert "A1_POLICY_RESP" in data["txMessages"]
        assert config["rmr"].get("policies") == data["policies"]
    assert config["rmr"]["protPort"] == f"tcp:{PORTS['rmr-data']}"
    assert set(config["rmr"]["rxMessages"]) == set(data["rxMessages"])
    assert set(config["rmr"]["txMessages"]) == set(data["txMessages"])


def test_validation_catches_a_broken_descriptor(tmp_path: Path, schema: Path) -> None:
    src = ROOT / "deploy" / "xapps" / "slice_scheduler"
    config = json.loads((src / "config-file.json").read_text())
    config["messaging"]["ports"][1]["port"] = 70000
    config["messaging"]["ports"][1].pop("policies")
    config["containers"][0]["image"].pop("tag")
    config["controls"]["control_period_ms"] = 5
    (tmp_path / "config-file.json").write_text(json.dumps(config))
    (tmp_path / "schema.json").write_text((src / "schema.json").read_text())
    problems = "\n".join(validate(tmp_path, schema))
    for expected in ("70000", "'tag' is a required property", "control_period_ms", "'policies' is a dependency"):
        assert expected in problems


def test_beam_predictor_controls_are_its_settings_defaults() -> None:
    """Every control the beam predictor's descriptor declares is a setting of the app with the app's default, and
    the schema's default says the same (refinement and BM-Case2 included): the descriptor cannot drift from the
    code it describes."""
    from xapps.beam_predictor.settings import BeamPredictorSettings

    folder = ROOT / "deploy" / "xapps" / "beam_predictor"
    controls = json.loads((folder / "config-file.json").read_text())["controls"]
    schema = json.loads((folder / "schema.json").read_text())["properties"]
    fields = BeamPredictorSettings.model_fields
    assert {"refine_k", "refine_prior_db", "predict_ahead"} <= set(controls)
    for key, value in controls.items():
        assert key in fields, f"control {key!r} is no setting of the beam predictor"
        default = fields[key].default
        want = default.model_dump() if hasattr(default, "model_dump") else default
        assert value == want, key
        if "default" in schema[key]:
            assert schema[key]["default"] == want, key
