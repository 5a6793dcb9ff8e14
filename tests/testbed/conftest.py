from __future__ import annotations

import pytest

from testbed.core.params import ScenarioParams
from testbed.core.scenario import load_scenario


@pytest.fixture(scope="session")
def city() -> ScenarioParams:
    return load_scenario("twm_poc")
