"""Observation contexts from the emulator: a warm-up of some slow steps under uniform shares and the KPM it
reports, as an E2 termination would hand it on (every cell's rows of a period in one KPM message, the testbed's
default E2 identities). Benchmarks and the world models' training command start planners from these; the
planners never see the emulator itself."""

from __future__ import annotations

from collections.abc import Sequence

from nextric.arrays import BoolArray
from nextric.e2sm.kpm.v1 import kpm_pb2
from nextric.kpm import KpmReport, report_message
from testbed.core.engine import Emulator
from testbed.core.estimators import NmseTable
from testbed.core.params import ScenarioParams
from testbed.core.scheduler import plan_ratios
from testbed.core.shocks import ShockRegime
from testbed.describe import cell_cgis, slice_ids
from testbed.policies import uniform_shares


def warm_up(sc: ScenarioParams, regime: ShockRegime, seed: int, slow_steps: int,
            nmse_table: NmseTable | None = None) -> tuple[list[KpmReport], BoolArray, Emulator]:
    """Run the emulator ``slow_steps`` slow steps under uniform shares: its KPM reports (one per slow step), the
    link alarms at the end, the emulator (to continue from)."""
    emu = Emulator(sc, regime, seed=seed, nmse_obs=4, nmse_table=nmse_table)
    p, t = uniform_shares(sc)
    emu.set_allocation(plan_ratios(sc.plan_shares, p), t)
    reps = []
    for _ in range(slow_steps):
        emu.step_slow()
        reps.append(emu.read_kpm())
    return reps, emu.link_up, emu


def kpm_messages(sc: ScenarioParams, reports: Sequence[KpmReport]) -> list[kpm_pb2.KpmIndicationMessage]:
    """Each report as one KPM message with every cell's rows (its window is the message's period)."""
    cgis = {c.cell_id: g for c, g in zip(sc.cells, cell_cgis(sc), strict=True)}
    ids = slice_ids(sc)
    return [report_message(r, cgis, ids) for r in reports]
