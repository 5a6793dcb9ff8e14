"""The E2 termination bridge's cell inventory for a testbed scenario: the radio details that E2 Setup does not carry
(NEXTRIC_E2TERM_CELLS, docs/e2.md), as the testbed's emulated gNBs have them. The deployments of the E2AP path
(docker-compose.yml's e2term service, the chart's ``e2ap.cells``, hence the kustomize e2ap overlay) carry the
inventory of the scenario their testbed runs; tests/deploy/ checks them against this.

    python -m tools.deploycheck.cells twm_poc    # the inventory as JSON, one cell a line
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def inventory(scenario: str) -> list[dict[str, Any]]:
    """The cells of ``scenario`` (a bundled name or a YAML path) in the bridge's inventory form."""
    from testbed.core.engine import Emulator
    from testbed.core.scenario import load_scenario
    from testbed.e2ap_agent import inventory as node_inventory
    from testbed.e2node import EmulatedGnbs

    return node_inventory(EmulatedGnbs(Emulator(load_scenario(scenario))).node_infos())


def to_json(cells: list[dict[str, Any]]) -> str:
    return "[\n" + ",\n".join(json.dumps(c) for c in cells) + "\n]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", help="bundled scenario name (twm_poc, ...) or a scenario YAML path")
    args = parser.parse_args(argv)
    print(to_json(inventory(args.scenario)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
