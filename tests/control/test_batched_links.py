"""The transport law over every link of a decision in one array call (what the steering xApp runs) gives each link
what the one-link call gives it: hypothesis-generated loads, capacities, previous shares and plan bounds."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nextric.control.transport import ShareBounds, ShareTargets, link_shares, link_shares_batch, sla_params

KEYS = ("1-000001", "2-000002", "1-000003")
PARAMS = sla_params([(KEYS[0], 0.25, None), (KEYS[1], 0.1, 20.0), (KEYS[2], 0.2, None)])


@st.composite
def link(draw: st.DrawFn) -> tuple[list[float], float, list[float], dict[str, ShareBounds]]:
    offered = [draw(st.floats(0.0, 3000.0)) for _ in KEYS]
    prev = [draw(st.floats(0.0, 1.0 / 3)) for _ in KEYS]
    bounds = {}
    for k in draw(st.lists(st.sampled_from(KEYS), max_size=3, unique=True)):
        lo = draw(st.floats(0.0, 0.3))
        bounds[k] = ShareBounds(lo, draw(st.floats(lo, 1.0)), draw(st.none() | st.floats(0.0, 1.0)))
    return offered, draw(st.floats(10.0, 5000.0)), prev, bounds


@settings(max_examples=60, deadline=None)
@given(st.lists(link(), min_size=1, max_size=20))
def test_all_links_at_once_equal_one_link_at_a_time(links: list[tuple[list[float], float, list[float],
                                                                       dict[str, ShareBounds]]]) -> None:
    def field(name: str, default: float) -> np.ndarray:
        return np.array([[[default if k not in b or getattr(b[k], name) is None else getattr(b[k], name)
                           for k in KEYS] for *_, b in links]])

    got = link_shares_batch(np.array([[o for o, *_ in links]]), np.array([[c for _, c, *_ in links]]), KEYS, PARAMS,
                            np.array([[p for _, _, p, _ in links]]),
                            ShareTargets(field("lower", 0.0), field("upper", 1.0), field("target", math.nan)))[0]
    for i, (offered, cap, prev, bounds) in enumerate(links):
        one = link_shares(dict(zip(KEYS, offered, strict=True)), cap, PARAMS, dict(zip(KEYS, prev, strict=True)),
                          bounds)
        assert [one[k] for k in KEYS] == got[i].tolist()
