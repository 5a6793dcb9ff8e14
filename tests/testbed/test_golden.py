"""Seeded emulator and twin runs are bit-identical to the digests recorded before the scale work (issue 20):
faster kernels must draw the same random numbers in the same order and compute the same floats.
How the digests were made: see :mod:`tests.testbed.golden_testbed`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.testbed.golden_testbed import CASES, Case, run_case, run_twin

GOLDEN = json.loads((Path(__file__).parent / "golden_testbed.json").read_text())["digests"]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_seeded_run_is_bit_identical_to_golden(case: Case) -> None:
    assert run_case(case) == GOLDEN[case.name]


def test_twin_rollout_is_bit_identical_to_golden() -> None:
    assert run_twin() == GOLDEN["twin/rollout"]


def test_golden_covers_every_case() -> None:
    assert set(GOLDEN) == {c.name for c in CASES} | {"twin/rollout"}
