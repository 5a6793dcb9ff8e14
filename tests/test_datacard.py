"""Wireless data cards: validation with clear errors, validity range, testbed trajectory cards."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from nextric.datacard import load_card, save_card, validate_card, validity_violations, within_validity
from nextric.errors import ValidationError
from testbed.core.scenario import load_scenario
from testbed.core.shocks import ShockRegime
from testbed.datacards import trajectory_card


def _card() -> dict[str, Any]:
    c = trajectory_card(load_scenario("twm_poc"), ShockRegime.parse("wave-OOD"), [1, 2], "uniform 1/3")
    return copy.deepcopy(dict(c.raw))


def test_testbed_card_is_valid_and_complete() -> None:
    d = _card()
    assert d["provenance"]["simulator"]["name"] == "nextric-testbed"
    assert d["provenance"]["seeds"] == [1, 2]
    assert d["provenance"]["shock_regime"] == "wave-OOD"
    assert d["policy"]["logging_policy"] == "uniform 1/3"


@pytest.mark.parametrize(
    ("path", "match"),
    [(("provenance", "simulator"), r"provenance\.simulator\.name: required"),
     (("task",), "task: required section"),
     (("protocol", "layer"), r"protocol\.layer: required")],
)
def test_missing_fields_are_named(path: tuple[str, ...], match: str) -> None:
    d = _card()
    cur = d
    for p in path[:-1]:
        cur = cur[p]
    del cur[path[-1]]
    with pytest.raises(ValidationError, match=match):
        validate_card(d)


def test_bad_values() -> None:
    d = _card()
    d["protocol"]["layer"] = "L9"
    with pytest.raises(ValidationError, match=r"protocol\.layer"):
        validate_card(d)
    d = _card()
    d["provenance"]["seeds"] = ["a"]
    with pytest.raises(ValidationError, match="seeds"):
        validate_card(d)


def test_model_card_validity_range(tmp_path: Path) -> None:
    d = _card()
    d.update(kind="model", name="beam-predictor")
    with pytest.raises(ValidationError, match="model"):
        validate_card(d)
    d["model"] = {"name": "beam-mlp", "format": "onnx"}
    with pytest.raises(ValidationError, match="validity_range: required"):
        validate_card(d)
    d["validity_range"] = {"scs_khz": {"values": [30]}, "speed_mps": {"min": 0, "max": 30}}
    card = validate_card(d)
    assert within_validity(card, {"scs_khz": 30, "speed_mps": 12})
    v = validity_violations(card, {"scs_khz": 15, "speed_mps": 40})
    assert len(v) == 2
    assert "scs_khz" in v[0]
    assert validity_violations(card, {"scs_khz": 30}) == ["speed_mps: not provided (card beam-predictor requires it)"]
    p = save_card(card, tmp_path / "card.yaml")
    assert load_card(p).raw == card.raw
    d["validity_range"] = {"x": {"min": 3, "max": 1}}
    with pytest.raises(ValidationError, match="min 3 > max 1"):
        validate_card(d)
