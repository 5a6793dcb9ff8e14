"""Offline datasets: emulator trajectories under a behaviour policy, saved as ``.npz`` plus a data card.

One file pair per (scenario, shock regime): ``<scenario>_<regime>_<policy>.npz`` holds per-sub-step KPM-level
arrays with a leading run axis (one run per seed), ``.card.json`` the validated data card
(:func:`testbed.datacards.trajectory_card`) with the file's SHA-256, array shapes and units.

Behaviour policies (PRB shares map to RRMPolicyRatio min = max = share, ``shares_to_ratios`` "isolated"):

* ``uniform``: 1/S everywhere (:func:`testbed.policies.uniform_shares`);
* ``hand-tuned``: the zone rules of :func:`testbed.policies.hand_tuned_shares`;
* ``random``: new Dirichlet(1) PRB shares per cell and transport shares per link at every slow step, drawn
  from ``SeedSequence([policy_seed, seed])`` (a stream of its own: the emulator's streams are untouched).

The ``.npz`` is written with fixed zip timestamps, so the same seeds, steps and policy give a byte-identical file.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nextric.datacard import DataCard, save_card
from nextric.errors import ValidationError
from testbed.core.engine import Emulator
from testbed.core.params import ScenarioParams
from testbed.core.reports import KpmReport
from testbed.core.scheduler import plan_ratios
from testbed.core.shocks import ShockRegime
from testbed.core.types import FloatArray
from testbed.datacards import trajectory_card
from testbed.policies import hand_tuned_shares, uniform_shares

POLICIES = ("uniform", "hand-tuned", "random")

#: per-sub-step arrays: name -> (unit, description); shapes in :func:`run_trajectory`
FIELDS: dict[str, tuple[str, str]] = {
    "thp_dl_mbps": ("Mbit/s", "DRB.UEThpDl: downlink throughput over the air per cell and slice"),
    "prb_used_dl": ("PRB", "RRU.PrbUsedDl: PRBs used per cell and slice (sub-step mean)"),
    "rlc_delay_ms": ("ms", "DRB.RlcSduDelayDl: mean RAN (RLC SDU) delay"),
    "packet_loss": ("fraction", "dropped / offered (RAN + transport) per cell and slice"),
    "p99_delay_ms": ("ms", "99th-percentile end-to-end delay per cell and slice"),
    "offered_mbps": ("Mbit/s", "offered downlink load per cell and slice"),
    "ratio_pct": ("percent", "RRMPolicyRatio (dedicated, min, max) in force per cell and slice (the action)"),
    "tn_share": ("fraction", "transport share per link and slice in force (the action)"),
    "link_util": ("fraction", "carried / capacity per transport link"),
    "link_up": ("bool", "transport link state at the end of the sub-step"),
    "t_s": ("s", "simulated time at the end of the sub-step"),
}
#: per-slow-step KPIs (windows of fast_per_slow sub-steps; a trailing partial window is left out)
SLOW_FIELDS: dict[str, tuple[str, str]] = {
    "slow_loss": ("fraction", "loss rate per slice over the slow step"),
    "slow_p99_ms": ("ms", "p99 latency per slice over the slow step"),
    "slow_scm": ("1", "SLA Compliance Margin over the slow step"),
}


@dataclass(frozen=True)
class Behaviour:
    """A logging policy: one of :data:`POLICIES`, with the seed of the random one."""

    name: str = "uniform"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.name not in POLICIES:
            raise ValidationError(f"unknown behaviour policy {self.name!r}; expected one of {list(POLICIES)}")

    @property
    def label(self) -> str:
        """Name for files and the data card (``random-s<seed>`` for the random policy)."""
        return f"random-s{self.seed}" if self.name == "random" else self.name


def behaviour_shares(sc: ScenarioParams, name: str, rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
    """PRB shares (C, S) and transport shares (L, S) of policy ``name`` (``rng`` used only by ``random``)."""
    if name == "uniform":
        return uniform_shares(sc)
    if name == "hand-tuned":
        return hand_tuned_shares(sc)
    if name == "random":
        ones = np.ones(sc.n_slices)
        return rng.dirichlet(ones, size=sc.n_cells), rng.dirichlet(ones, size=sc.n_links)
    raise ValidationError(f"unknown behaviour policy {name!r}; expected one of {list(POLICIES)}")


def _kpm_arrays(rep: KpmReport) -> dict[str, FloatArray]:
    """(C, S) arrays of one KPM report (cells and slices in scenario order)."""
    cols = {"thp_dl_mbps": "thp_dl_mbps", "prb_used_dl": "prb_used_dl", "rlc_delay_ms": "rlc_sdu_delay_ms",
            "packet_loss": "packet_loss", "p99_delay_ms": "p99_delay_ms", "offered_mbps": "offered_mbps"}
    out = {k: np.array([[getattr(s, a) for s in c.slices] for c in rep.cells]) for k, a in cols.items()}
    out["ratio_pct"] = np.array([[s.ratio_pct for s in c.slices] for c in rep.cells])
    return out


def run_trajectory(sc: ScenarioParams, regime: ShockRegime, seed: int, n_steps: int, behaviour: Behaviour,
                   nmse_obs: int = 8, on_step: Callable[[], None] | None = None) -> dict[str, np.ndarray]:
    """Run one emulator seed for ``n_steps`` fast sub-steps under ``behaviour``; a KPM read every sub-step.

    Returns per-sub-step arrays (T = n_steps): (T, C, S) for the KPM fields, ``ratio_pct`` (T, C, S, 3),
    ``tn_share`` (T, L, S), ``link_util`` / ``link_up`` (T, L), ``t_s`` (T,), and per slow step (K = T //
    fast_per_slow) ``slow_loss`` / ``slow_p99_ms`` (K, S) and ``slow_scm`` (K,). Units in :data:`FIELDS`.
    """
    if n_steps < 1:
        raise ValidationError(f"n_steps must be >= 1, got {n_steps}")
    emu = Emulator(sc, regime, seed=seed, nmse_obs=nmse_obs)
    rng = np.random.default_rng(np.random.SeedSequence([behaviour.seed, seed]))
    per = sc.timing.fast_per_slow
    rows: dict[str, list[np.ndarray]] = {k: [] for k in (*FIELDS, *SLOW_FIELDS)}
    for t in range(n_steps):
        if t % per == 0:
            prb, tn = behaviour_shares(sc, behaviour.name, rng)
            emu.set_allocation(plan_ratios(sc.plan_shares, prb), tn)
            slow_start = emu.step_index
        emu.step_fast()
        rows["link_util"].append(emu.link_utilisation())
        for k, v in _kpm_arrays(emu.read_kpm()).items():
            rows[k].append(v)
        rows["tn_share"].append(emu.tn_share.copy())
        rows["link_up"].append(emu.link_up)
        rows["t_s"].append(np.asarray(emu.t_s))
        if (t + 1) % per == 0:
            kpi = emu.kpis_since(slow_start)
            rows["slow_loss"].append(kpi.loss[0])
            rows["slow_p99_ms"].append(kpi.p99_ms[0])
            rows["slow_scm"].append(kpi.scm[0])
        if on_step is not None:
            on_step()
    empty = {"slow_loss": (0, sc.n_slices), "slow_p99_ms": (0, sc.n_slices), "slow_scm": (0,)}
    return {k: (np.stack(v) if v else np.zeros(empty[k])) for k, v in rows.items()}


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> str:
    """Write ``arrays`` as an ``np.load``-compatible ``.npz`` with fixed timestamps; returns its SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue())
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class ExportResult:
    """Files written for one (scenario, regime)."""

    npz: Path
    card_path: Path
    card: DataCard
    sha256: str


def export_trajectories(out_dir: Path, sc: ScenarioParams, regime: ShockRegime, seeds: Sequence[int],
                        n_steps: int, behaviour: Behaviour, nmse_obs: int = 8,
                        on_step: Callable[[], None] | None = None) -> ExportResult:
    """Run every seed, stack the runs and write ``<scenario>_<regime>_<policy>.npz`` + ``.card.json``."""
    if not seeds:
        raise ValidationError("at least one seed is needed")
    runs = [run_trajectory(sc, regime, int(s), n_steps, behaviour, nmse_obs, on_step) for s in seeds]
    arrays: dict[str, np.ndarray] = {k: np.stack([r[k] for r in runs]) for k in runs[0]}
    arrays["seeds"] = np.asarray(list(seeds), dtype=np.int64)
    arrays["cell_ids"] = np.array([c.cell_id for c in sc.cells], dtype=np.int64)
    arrays["slice_names"] = np.array([s.name for s in sc.slices])
    arrays["link_names"] = np.array([ln.name for ln in sc.transport.links])
    stem = f"{sc.name}_{regime.label}_{behaviour.label}"
    npz = out_dir / f"{stem}.npz"
    digest = write_npz(npz, arrays)
    units = {**FIELDS, **SLOW_FIELDS}
    described: dict[str, Any] = {
        k: {"shape": list(v.shape), "dtype": str(v.dtype), "unit": units[k][0], "description": units[k][1]}
        for k, v in arrays.items() if k in units}
    dataset = {"file": npz.name, "format": "npz (numpy)", "sha256": digest, "runs": len(seeds),
               "sub_steps": n_steps, "sub_step_s": sc.timing.fast_step_s, "slow_step_s": sc.timing.slow_step_s,
               "axes": "run (one per seed), sub-step, cell (scenario order, ids in cell_ids), slice "
                       "(slice_names), link (link_names)",
               "arrays": described}
    card = trajectory_card(
        sc, regime, [int(s) for s in seeds], behaviour.label, task="cross-domain slicing KPM trajectories",
        description="per-sub-step KPM (TS 28.552 names) per cell and slice, link states and utilisation, and the "
                    "PRB/transport allocation in force, under a fixed behaviour policy",
        timescale_s=sc.timing.fast_step_s, extra={"dataset": dataset})
    card_path = save_card(card, out_dir / f"{stem}.card.json")
    return ExportResult(npz=npz, card_path=card_path, card=card, sha256=digest)
