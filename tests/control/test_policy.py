"""The plan the laws run inside: JSON codec, validation, time window, wildcards, SLA overlay, arrays for the twin."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from nextric.control.batch import SliceDefaults, plans_to_batch
from nextric.control.policy import ControlPlan, SlaCeiling, decode_plan, plan_from_json
from nextric.control.slices import PlanBounds, SliceSla
from nextric.control.transport import ShareBounds
from nextric.errors import ValidationError

EMBB, URLLC = "1-000001", "2-000002"


def test_roundtrip_and_wildcards() -> None:
    plan = ControlPlan(cells={"*": {EMBB: PlanBounds(5, 60, 80)}, "c1": {URLLC: PlanBounds(20, 50, 100, 30.5)}},
                       links={"L1": {EMBB: ShareBounds(0.4, 0.9, 0.5)}}, slas={"c1": {URLLC: SlaCeiling(0.01, 10.0)}},
                       plan_id="p", intent_id="i", version=3, valid_from_ms=1000, valid_until_ms=9000)
    back = decode_plan(plan.encode())
    assert back == plan
    assert back.cell_bounds("c1", 2000) == {EMBB: PlanBounds(5, 60, 80), URLLC: PlanBounds(20, 50, 100, 30.5)}
    assert back.cell_bounds("c2", 2000) == {EMBB: PlanBounds(5, 60, 80)}
    assert back.cell_bounds("c1", 500) == {}  # not in force yet
    assert back.link_bounds("L1", 9000) == {}  # expired
    slas = back.apply_slas("c1", 2000, {URLLC: SliceSla(URLLC, 0.1, 20.0, 100)})
    assert slas[URLLC] == SliceSla(URLLC, 0.01, 10.0, 100)
    assert decode_plan(None) == ControlPlan()
    assert decode_plan(b"{}") == ControlPlan()


@pytest.mark.parametrize(("body", "words"), [
    ({"cells": {"c": {EMBB: {"lowerPct": 70}, URLLC: {"lowerPct": 40}}}}, "sums to more than 100"),
    ({"cells": {"c": {EMBB: {"lowerPct": 50, "upperPct": 40}}}}, "lowerPct <= upperPct"),
    ({"cells": {"c": {EMBB: {"lowerPct": 10.5}}}}, "integers"),
    ({"cells": {"c": {EMBB: {"targetPct": math.nan}}}}, "finite"),
    ({"cells": {"c": {EMBB: {"maxPct": 101}}}}, "outside"),
    ({"links": {"L": {EMBB: {"lower": 0.7}, URLLC: {"lower": 0.5}}}}, "sum to more than 1"),
    ({"links": {"L": {EMBB: {"lower": 0.7, "upper": 0.2}}}}, "lower <= upper"),
    ({"links": {"L": {EMBB: {"target": "half"}}}}, "finite number"),
    ({"slas": {"c": {EMBB: {"maxLoss": 0}}}}, "outside"),
    ({"cells": {"c": [1, 2]}}, "object"),
    ({"version": 1.5}, "integer"),
    ([1, 2], "JSON object"),
])
def test_bad_plans_are_refused_with_the_field_named(body: object, words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        plan_from_json(body)


def test_not_json_is_refused() -> None:
    with pytest.raises(ValidationError, match="not JSON"):
        decode_plan(b"{oops")


def test_plans_as_arrays_for_the_twin() -> None:
    """Candidate 0 = no plan: defaults; candidate 1: its bounds and ceilings, A1 ceilings underneath."""
    defaults = [SliceDefaults(EMBB, 0.25), SliceDefaults(URLLC, 0.1, 20.0)]
    plan = ControlPlan(cells={"c2": {EMBB: PlanBounds(10, 50, 90, 30.0)}}, links={"L1": {URLLC: ShareBounds(0.3)}},
                       slas={"*": {EMBB: SlaCeiling(0.05)}})
    b = plans_to_batch([ControlPlan(), plan], ["c1", "c2"], ["L1", "L2"], defaults, 0, [True, True], [True, False],
                       a1_slas={"c1": {URLLC: (None, 15.0)}})
    b.validate(2, 2, 2)
    assert b.prb_lower[0].sum() == 0
    assert b.prb_lower[1, 1, 0] == 10
    assert b.prb_max[1, 1, 0] == 90
    assert b.prb_target[1, 1, 0] == 30.0
    assert np.isnan(b.prb_target[1, 0, 0])
    assert b.sla_loss[0, :, 0].tolist() == [0.25, 0.25]
    assert b.sla_loss[1, :, 0].tolist() == [0.05, 0.05]  # the plan's wildcard ceiling
    assert b.sla_p99_ms[:, 0, 1].tolist() == [15.0, 15.0]  # A1 under both
    assert np.isnan(b.sla_p99_ms[0, 0, 0])
    assert b.tn_lower[1, 0, 1] == 0.3
    assert b.transport_law.tolist() == [True, False]
    json.dumps(plan.to_json())


def test_batch_validation_names_the_field() -> None:
    b = plans_to_batch([ControlPlan()], ["c1"], ["L1"], [SliceDefaults(EMBB, 0.25)], 0)
    bad = type(b)(**{**b.__dict__, "prb_lower": np.full((1, 1, 1), 120.0)})
    with pytest.raises(ValidationError, match="prb_lower"):
        bad.validate(1, 1, 1)
    with pytest.raises(ValidationError, match="shape"):
        b.validate(2, 1, 1)
