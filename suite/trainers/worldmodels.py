"""``nextric train fwm`` / ``nextric train cdwm``: the world models' training wired to the testbed.

The rApp's training (:mod:`rapps.intent_agent.worldmodels.train_fwm`, ``train_cdwm``) sees the network only through
its interfaces (:class:`~rapps.intent_agent.worldmodels.datagen.TrainingNetwork`): the description, the twin
service's ``Rollout`` and an observation source. Here, the composition root, they are the testbed's: its twin
service in process, and emulator warm-ups whose KPM is encoded as the E2 nodes report it.

    python -m suite.trainers.worldmodels fwm [--city twm_poc] [--epochs 40] [--seed 0] [--out DIR] [--cache DIR]
    python -m suite.trainers.worldmodels cdwm [--city twm_poc] [--epochs 30] ...

``--city``: the scenario the models are trained for (default ``twm_poc``; the recalibrated PoC city is
``twm_poc_calibrated``, whose models live in ``rapps/intent_agent/model_calibrated/``).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from typing import Any

from nextric.arrays import BoolArray
from nextric.e2sm.kpm.v1 import kpm_pb2
from rapps.intent_agent.worldmodels.datagen import TrainingNetwork
from testbed.core.estimators import NmseTable
from testbed.core.scenario import load_scenario
from testbed.core.shocks import ShockRegime
from testbed.datacards import simulator_version
from testbed.describe import cell_keys, topology_of
from testbed.twin_service import TwinService
from testbed.warmup import kpm_messages, warm_up


def training_network(scenario: str = "twm_poc") -> TrainingNetwork:
    sc = load_scenario(scenario)
    tables: list[NmseTable] = []  # the estimators' NMSE table, computed by the first warm-up and reused

    def observe(regime: str, seed: int, slow_steps: int) -> tuple[Sequence[kpm_pb2.KpmIndicationMessage], BoolArray]:
        reps, up, emu = warm_up(sc, ShockRegime.parse(regime), seed, slow_steps, tables[0] if tables else None)
        if not tables:
            tables.append(emu.nmse_table)
        return kpm_messages(sc, reps), up

    provenance = {"simulator": {"name": "nextric-testbed digital twin", "version": simulator_version()},
                  "channel_model": f"3GPP TR 38.901 {sc.radio.pathloss_model} (emulator warm-up)"}
    return TrainingNetwork(topology_of(sc), TwinService(sc, sc.name, cell_keys(sc)), observe, provenance,
                           rebuild=functools.partial(training_network, scenario))


def _city(argv: list[str] | None) -> tuple[str, list[str]]:
    """``--city NAME`` taken out of the trainer's arguments."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--city" not in args:
        return "twm_poc", args
    i = args.index("--city")
    if i + 1 >= len(args):
        raise SystemExit("--city needs a scenario name or path")
    return args[i + 1], args[:i] + args[i + 2:]


def fwm(argv: list[str] | None = None) -> dict[str, Any]:
    from rapps.intent_agent.worldmodels import train_fwm

    city, rest = _city(argv)
    return train_fwm.main(rest, training_network(city))


def cdwm(argv: list[str] | None = None) -> dict[str, Any]:
    from rapps.intent_agent.worldmodels import train_cdwm

    city, rest = _city(argv)
    return train_cdwm.main(rest, training_network(city))


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in ("fwm", "cdwm"):
        raise SystemExit("usage: python -m suite.trainers.worldmodels {fwm|cdwm} [options]")
    (fwm if args[0] == "fwm" else cdwm)(args[1:])


if __name__ == "__main__":
    main()
