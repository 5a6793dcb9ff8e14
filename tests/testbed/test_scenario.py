"""Scenario YAML: the default city, validation errors, a second city from data only."""

from __future__ import annotations

import copy
from importlib import resources
from typing import Any

import numpy as np
import pytest
import yaml

from nextric.errors import ConfigError
from nextric.geometry import in_zone
from testbed.core.params import ScenarioParams
from testbed.core.scenario import city_arrays, load_scenario, load_scenario_dict


def _raw() -> dict[str, Any]:
    text = resources.files("testbed.scenarios").joinpath("twm_poc.yaml").read_text()
    d: dict[str, Any] = yaml.safe_load(text)
    return d


def test_default_city_matches_paper(city: ScenarioParams) -> None:
    assert city.n_cells == 10
    assert city.n_slices == 3
    assert city.width_m == city.height_m == 2000
    assert len(city.transport.nodes) == 6
    assert city.n_links == 10
    assert (city.timing.fast_per_slow, city.timing.slow_per_horizon) == (15, 12)
    assert [(s.sst, s.sd) for s in city.slices] == [(1, "000001"), (2, "000002"), (1, "000003")]
    arr = city_arrays(city)
    zones = {z.name: z for z in city.zones}
    corridor = set(np.flatnonzero(in_zone(zones["corridor"], arr.cell_xy)) + 1)
    fwa = set()
    for z in city.zones:
        if z.kind == "fwa":
            fwa |= set(np.flatnonzero(in_zone(z, arr.cell_xy)) + 1)
    assert corridor & fwa == {4, 8}
    assert set(np.flatnonzero(in_zone(zones["hospital"], arr.cell_xy)) + 1) == {6, 9}


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d["cell_cfg"].update(channel_bandwidth_MHz=5, common_scs=60), "not defined for SCS 60"),
        (lambda d: d["cells"][0].update(agg_node="NOPE"), r"cells\[0\]\.agg_node: unknown transport node"),
        (lambda d: d["slices"][0].update(sd="xyz"), r"slices\[0\]\.sd: slice differentiator"),
        (lambda d: d["transport"]["links"][0].update(capacity_mbps="fast"), "expected a number"),
        (lambda d: d["cell_cfg"]["slicing"][0]["sched_cfg"].update(min_prb_policy_ratio=50,
                                                                  max_prb_policy_ratio=40), "ded <= min <= max"),
        (lambda d: d["ue_groups"][0].update(zone="atlantis"), "unknown zone"),
        (lambda d: d.pop("timing"), "timing: required field is missing"),
        (lambda d: d["transport"].update(sharing="fair"), r"transport\.sharing"),
        (lambda d: d["transport"].update(slice_priority={"mMTC": 1}), r"transport\.slice_priority: unknown slices"),
        (lambda d: d.update(plan_shares="loose"), "plan_shares"),
    ],
)
def test_validation_errors_are_clear(mutate: Any, match: str) -> None:
    d = copy.deepcopy(_raw())
    mutate(d)
    with pytest.raises(ConfigError, match=match):
        load_scenario_dict(d, "t.yaml")


def test_transport_sharing_and_plan_shares() -> None:
    d = copy.deepcopy(_raw())
    sc = load_scenario_dict(d, "t.yaml")
    assert (sc.transport.sharing, sc.plan_shares) == ("partitioned", "isolated")
    assert sc.transport.priority == tuple(1 if s.sla_p99_ms is not None else 2 for s in sc.slices)
    assert not city_arrays(sc).tn_work_conserving
    d["transport"].update(sharing="work_conserving", slice_priority={sc.slices[0].name: 3})
    d["plan_shares"] = "guaranteed"
    sc2 = load_scenario_dict(d, "t.yaml")
    assert city_arrays(sc2).tn_work_conserving
    assert sc2.transport.priority[0] == 3
    assert sc2.plan_shares == "guaranteed"


def test_unknown_scenario_name() -> None:
    with pytest.raises(ConfigError, match="bundled scenarios"):
        load_scenario("no_such_city")


def test_second_city_is_data_only() -> None:
    sc = load_scenario("harbour_city")
    assert sc.name == "harbour_city"
    assert sc.n_cells != 10
    assert sc.radio.pathloss_model == "UMa"
    assert len({c.n_prb for c in sc.cells}) >= 1
