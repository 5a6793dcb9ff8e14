"""Golden trajectories of the emulator and the twin: one SHA-256 per case over every value a seeded run produces
(per sub-step KPM/KPI arrays, UE positions, serving cells, beams, radio state; every KPM report; PHY reports at
the end; the twin's batched rollout), so that a faster core can be checked to be bit-identical to the one it
replaced.

The digests in ``golden_testbed.json`` were made from commit 132ec17 (before the scale work of issue 20) with::

    git worktree add /tmp/tb-base 132ec17
    PYTHONPATH=/tmp/tb-base .venv/bin/python tests/testbed/golden_testbed.py > tests/testbed/golden_testbed.json

Only the emulator's public API (and the record it keeps per sub-step) is used, so the same file runs on both.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

import numpy as np

from testbed.core.engine import Emulator
from testbed.core.params import ScenarioParams
from testbed.core.reports import BeamSwitch, ControlRequest, SlicePolicy, TransportShare
from testbed.core.scenario import load_scenario
from testbed.core.shocks import ShockRegime
from testbed.twin import DigitalTwin


@dataclass(frozen=True)
class Case:
    name: str
    scenario: str  #: bundled name, "grid<N>" (the benchmark's synthetic city) or "<name>+fail" (frequent failures)
    regime: str
    seed: int
    steps: int
    controls: bool = False


CASES = (
    Case("twm_poc/hotspot/controls", "twm_poc", "hotspot-ID", 0, 45, controls=True),
    Case("twm_poc/wave-ood", "twm_poc", "wave-OOD", 3, 30),
    Case("twm_poc_calibrated/both", "twm_poc_calibrated", "both-ID", 1, 30),
    Case("ran_limited/hotspot", "ran_limited", "hotspot-ID", 2, 30, controls=True),
    Case("twm_poc+fail/none", "twm_poc+fail", "none", 5, 60),
    Case("harbour_city/wave", "harbour_city", "wave-ID", 4, 30, controls=True),
    Case("grid100/hotspot", "grid100", "hotspot-ID", 0, 16),
    Case("grid40+fail/both", "grid40+fail", "both-OOD", 7, 30, controls=True),
)


def _grid(n_cells: int) -> ScenarioParams:
    from bench.testbed_speed import synthetic_city

    return synthetic_city(n_cells)


def scenario_of(spec: str) -> ScenarioParams:
    base, _, fail = spec.partition("+")
    sc = _grid(int(base[4:])) if base.startswith("grid") else load_scenario(base)
    if fail:  # frequent link failures with quick repair: reroutes and unreachable cells within a short run
        sc = replace(sc, transport=replace(sc.transport, fail_prob_per_s=0.02, mttr_s=8.0))
    return sc


class Digest:
    def __init__(self) -> None:
        self.h = hashlib.sha256()

    def arr(self, *xs: Any) -> None:
        for x in xs:
            a = np.ascontiguousarray(x)
            self.h.update(str(a.dtype).encode() + str(a.shape).encode())
            self.h.update(a.tobytes())

    def text(self, s: str) -> None:
        self.h.update(s.encode())

    def obj(self, o: Any) -> None:
        """A report: arrays by their bytes (a numpy repr elides long arrays), everything else by its repr."""
        for k, v in (vars(o).items() if hasattr(o, "__dict__") else enumerate(o)):
            self.text(str(k))
            if isinstance(v, np.ndarray):
                self.arr(v)
            elif hasattr(v, "__dict__") or isinstance(v, (tuple, list)):
                self.obj(v)
            else:
                self.text(repr(v))


def _controls(emu: Emulator, step: int) -> None:
    sc = emu.sc
    if step == 4:
        c0, c1 = sc.cells[0].cell_id, sc.cells[-1].cell_id
        s0 = sc.slices[0]
        emu.submit(ControlRequest(
            "golden-1", slice_policies=(SlicePolicy(c0, s0.sst, s0.sd, 5.0, 10.0, 80.0),
                                        SlicePolicy(c1, s0.sst, s0.sd, 0.0, 12.0, 100.0)),
            beams=(BeamSwitch(3, 1, 6), BeamSwitch(11, 5), BeamSwitch(len(emu.ue_ids) - 1, 0, 3)),
            transport=(TransportShare(sc.transport.links[0].name, tuple([0.6] + [0.4 / (sc.n_slices - 1)] *
                                                                       (sc.n_slices - 1))),)))
    if step == 12:
        rng = np.random.default_rng(step)
        ratio = np.zeros((sc.n_cells, sc.n_slices, 3))
        ratio[..., 2] = 100.0
        ratio[..., 1] = rng.dirichlet(np.ones(sc.n_slices), sc.n_cells) * 90.0
        emu.set_allocation(ratio, rng.dirichlet(np.ones(sc.n_slices), sc.n_links))


def run_case(case: Case) -> str:
    sc = scenario_of(case.scenario)
    emu = Emulator(sc, ShockRegime.parse(case.regime), seed=case.seed, nmse_obs=2)
    d = Digest()
    per = sc.timing.fast_per_slow
    for i in range(case.steps):
        if case.controls:
            _controls(emu, i)
        emu.step_fast()
        rec = emu._kpm_buf[-1]
        u = emu.ues
        d.arr(rec.cell, rec.link, rec.ratio_pct, u.xy, u.serving, u.beam, u.beam_ttl, u.shadow_z, u.los_g,
              u.cand, u.sinr_report_db, u.rate_g, u.cl_off, emu.shocks.link_up, emu.flow.ran_q, emu.flow.tn_q,
              emu.flow.prb_util)
        if (i + 1) % per == 0:
            d.obj(emu.read_kpm())
    if case.steps % per:
        d.obj(emu.read_kpm())
    br = emu.beam_report()
    d.obj(br)
    d.arr(*emu.estimation_truth())
    d.arr(emu.beam_genie().rsrp_dbm)
    d.arr(*emu.link_loads(10))
    d.obj(emu.kpis_since(0))
    return d.h.hexdigest()


def run_twin() -> str:
    sc = load_scenario("twm_poc")
    emu = Emulator(sc, seed=0, nmse_obs=2)
    emu.step_slow()
    twin = DigitalTwin.from_observations(sc, [emu.read_kpm()], seed=0)
    k = sc.timing.slow_per_horizon
    rng = np.random.default_rng(0)
    prb = rng.dirichlet(np.ones(sc.n_slices), size=(6, k, sc.n_cells))
    tn = rng.dirichlet(np.ones(sc.n_slices), size=(6, k, sc.n_links))
    res = twin.rollout(prb, tn, n_seeds=2)
    d = Digest()
    d.obj(res)
    return d.h.hexdigest()


def all_digests() -> dict[str, str]:
    out = {c.name: run_case(c) for c in CASES}
    out["twin/rollout"] = run_twin()
    return out


if __name__ == "__main__":
    import testbed

    print(json.dumps({"made_from": str(resources.files(testbed)), "digests": all_digests()}, indent=2))
