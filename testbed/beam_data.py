"""Labelled beam-management samples (3GPP BM-Case1) drawn from the emulator, with their data card.

Each sample is one UE at one BEAM report instant: what a beam xApp sees (the Set-B L1-RSRP report, quantised
to 1 dB and clipped to -140..-44 dBm exactly as the E2 node reports it, the serving beam at this and at the
previous report, the serving cell) and the label only the testbed knows (the noise-free Set-A L1-RSRP sweep
from :meth:`~testbed.core.engine.Emulator.beam_genie` and its best beam). Context for evaluation slices: the
UE speed and the SNR of the best Set-A beam per resource element.

The emulator runs with its default beam selection (best measured Set-B beam) and no controls, so the samples
follow the deployed behaviour. Runs are independent seeds; within a run one sample per UE every ``every``
sub-steps (consecutive samples of a slow UE are correlated: keep training and test seeds apart).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nextric.datacard import DataCard, validate_card
from nextric.errors import ValidationError
from nextric.nr_arfcn import carrier_mhz
from testbed.core import beams as bm
from testbed.core.engine import Emulator
from testbed.core.params import ScenarioParams
from testbed.core.radio import channel_paths, link_budget
from testbed.core.shocks import ShockRegime
from testbed.datacards import simulator_version

#: sample arrays: name -> (dtype, unit, description); N samples, B_B Set-B beams, B_A Set-A beams
FIELDS: dict[str, tuple[str, str, str]] = {
    "rsrp_b_dbm": ("int16", "dBm", "(N, B_B) Set-B L1-RSRP as reported (1 dB steps, -140..-44)"),
    "serving_beam": ("int16", "Set-A index", "(N,) beam serving the UE at the report (after this sub-step)"),
    "prev_serving_beam": ("int16", "Set-A index", "(N,) beam that served the UE at the previous sub-step"),
    "cell_id": ("int32", "1", "(N,) serving cell id"),
    "ue_id": ("int32", "1", "(N,) UE id within its run"),
    "run": ("int32", "1", "(N,) index of the run (seed) in provenance.seeds"),
    "t_s": ("float32", "s", "(N,) simulated time of the report"),
    "set_a_rsrp_dbm": ("float32", "dBm", "(N, B_A) noise-free Set-A L1-RSRP sweep (label, genie only)"),
    "best_beam": ("int16", "Set-A index", "(N,) argmax of set_a_rsrp_dbm (label)"),
    "speed_mps": ("float32", "m/s", "(N,) UE speed"),
    "snr_db": ("float32", "dB", "(N,) best Set-A beam RSRP over thermal noise per resource element"),
}

#: extra arrays of ``draw_samples(..., extras=True)`` (evaluation and ceiling studies; not part of the data card)
EXTRA_FIELDS: dict[str, tuple[str, str, str]] = {
    "rsrp_b_clean_dbm": ("float32", "dBm", "(N, B_B) noise-free, unquantised Set-B L1-RSRP at the report (genie)"),
    "prev_rsrp_b_dbm": ("int16", "dBm", "(N, B_B) the Set-B report one sub-step earlier (the current one at the "
                                        "first sub-step)"),
    "prev_cell_id": ("int32", "1", "(N,) serving cell of that earlier report"),
}


def clean_set_b_rsrp(emu: Emulator) -> np.ndarray:
    """Noise-free, unquantised Set-B L1-RSRP (U, B_B) dBm of every UE at its current position: the value the
    emulator's Set-B report measures (:func:`testbed.core.radio.radio_step`) before its measurement error and 1 dB
    reporting steps. Read-only (draws nothing from the emulator's random streams)."""
    lb = link_budget(emu.sc, emu.cr, emu.ues)
    u_p, w_p = channel_paths(emu.sc, emu.ues, lb)
    cols = np.arange(len(emu.ues.xy))
    g = np.einsum("bpu,pu->ub", bm.path_gains_t(u_p, emu.cr.u_codebook[emu.cr.set_b], emu.cr.gain_lut_b), w_p)
    base = lb.rx_prb_dbm[lb.srv_slot, cols] - emu.cr.p_prb_dbm[lb.serving] + emu.cr.p_re_dbm[lb.serving]
    return np.asarray(base[:, None] + 10 * np.log10(np.maximum(g, 1e-12)), dtype=np.float64)


def beam_config(sc: ScenarioParams) -> dict[str, Any]:
    """The beam-management configuration of a scenario (every cell shares the scenario's radio block).

    Keys match the beam predictor's validity range: ``set_a_size``, ``set_b`` (Set-A indices: the beams, or for
    wide beams their pointing directions), ``set_b_kind`` (``subset`` or ``wide``), ``set_b_elements`` (array
    elements per Set-B beam), ``n_antennas`` (half-wavelength ULA elements), ``carrier_mhz`` (of the first cell;
    every cell must agree).
    """
    carriers = {carrier_mhz(c.dl_arfcn) for c in sc.cells}
    if len(carriers) != 1:
        raise ValidationError(f"scenario {sc.name}: cells on several carriers {sorted(carriers)}")
    return {"set_a_size": sc.radio.n_beams_set_a, "set_b": list(sc.radio.set_b), "set_b_kind": sc.radio.set_b_kind,
            "set_b_elements": sc.radio.set_b_aperture, "n_antennas": sc.radio.n_antennas,
            "carrier_mhz": carriers.pop()}


def set_b_design(cfg: dict[str, Any]) -> str:
    """One line describing the Set-B beams of a :func:`beam_config` (for data and model cards)."""
    if cfg["set_b_kind"] == "wide":
        m = cfg["set_b_elements"]
        return (f"wide beams (3GPP TR 38.843 BM-Case1, Set B different from Set A): beam k = DFT beam of a {m}-element "
                f"sub-array, weights 1/sqrt({m}) on elements 0..{m - 1}, pointed at Set-A direction u_(set_b[k]); "
                f"gain G_{m}(u - u_(set_b[k])) = sin^2({m} x/2) / ({m} sin^2(x/2)), x = pi (u - u_(set_b[k])), peak "
                f"{10 * np.log10(m):.1f} dBi array gain, first nulls at +-{2 / m:.3f} in sin(angle)")
    return f"uniform stride over Set A (Set B subset of Set A, same {cfg['n_antennas']}-element kernel)"


def draw_samples(sc: ScenarioParams, seeds: Sequence[int], n_steps: int, every: int = 5,
                 regime: str = "none", on_step: Callable[[], None] | None = None,
                 extras: bool = False) -> dict[str, np.ndarray]:
    """Run one emulator per seed for ``n_steps`` sub-steps; every ``every`` sub-steps, one sample per UE.

    Returns the arrays of :data:`FIELDS` (N = runs x (n_steps // every) x UEs), in run, time, UE order, and with
    ``extras`` those of :data:`EXTRA_FIELDS` (the emulator runs the same: extras only read it).
    """
    if n_steps < 1 or every < 1 or not seeds:
        raise ValidationError("need seeds, n_steps >= 1 and every >= 1")
    noise_re_dbm = np.array([-174.0 + 10 * np.log10(c.scs_khz * 1e3) + sc.radio.noise_figure_db for c in sc.cells])
    cell_index = {c.cell_id: i for i, c in enumerate(sc.cells)}
    fields = {**FIELDS, **EXTRA_FIELDS} if extras else FIELDS
    rows: dict[str, list[np.ndarray]] = {k: [] for k in fields}
    for run, seed in enumerate(seeds):
        emu = Emulator(sc, ShockRegime.parse(regime), seed=int(seed))
        last: tuple[np.ndarray, np.ndarray] | None = None
        for t in range(n_steps):
            prev = emu.ues.beam.copy()
            emu.step_fast()
            if on_step is not None:
                on_step()
            if extras:
                before, now = last, emu.beam_report()
                last = (now.rsrp_dbm, now.cell_ids)
            if (t + 1) % every:
                continue
            rep, gen = emu.beam_report(), emu.beam_genie()
            if extras:
                pr, pc = before if before is not None else (rep.rsrp_dbm, rep.cell_ids)
                rows["rsrp_b_clean_dbm"].append(clean_set_b_rsrp(emu).astype(np.float32))
                rows["prev_rsrp_b_dbm"].append(pr.astype(np.int16))
                rows["prev_cell_id"].append(pc.astype(np.int32))
            n = len(rep.ue_ids)
            ci = np.array([cell_index[int(c)] for c in rep.cell_ids], dtype=np.int64)
            rows["rsrp_b_dbm"].append(rep.rsrp_dbm.astype(np.int16))
            rows["serving_beam"].append(rep.serving_beam.astype(np.int16))
            rows["prev_serving_beam"].append(prev.astype(np.int16))
            rows["cell_id"].append(rep.cell_ids.astype(np.int32))
            rows["ue_id"].append(rep.ue_ids.astype(np.int32))
            rows["run"].append(np.full(n, run, dtype=np.int32))
            rows["t_s"].append(np.full(n, rep.t_s, dtype=np.float32))
            rows["set_a_rsrp_dbm"].append(gen.rsrp_dbm.astype(np.float32))
            rows["best_beam"].append(gen.best_beam.astype(np.int16))
            rows["speed_mps"].append(emu.ues.speed.astype(np.float32))
            rows["snr_db"].append((gen.rsrp_dbm.max(1) - noise_re_dbm[ci]).astype(np.float32))
    return {k: np.concatenate(v).astype(fields[k][0]) for k, v in rows.items()}


@dataclass(frozen=True)
class BeamDataSpec:
    """How a beam sample set was drawn (goes into the card's provenance)."""

    scenario: str
    seeds: tuple[int, ...]
    n_steps: int
    every: int
    regime: str = "none"


def beam_dataset_card(sc: ScenarioParams, spec: BeamDataSpec, arrays: dict[str, np.ndarray],
                      name: str | None = None) -> DataCard:
    """Data card of a sample set from :func:`draw_samples` (configuration, provenance, environment, validity)."""
    cfg = beam_config(sc)
    c0 = sc.cells[0]
    n = len(arrays["best_beam"])
    snr = arrays["snr_db"]
    doc: dict[str, Any] = {
        "kind": "dataset", "schema_version": "1.0", "name": name or f"{sc.name}-beam-bm-case1",
        "task": {"name": "beam prediction (3GPP BM-Case1, spatial domain)",
                 "description": "predict the best Set-A beam of a UE from its Set-B L1-RSRP report",
                 "prediction_target": "best Set-A beam (argmax of the noise-free Set-A L1-RSRP sweep)",
                 "latency_budget_s": sc.timing.fast_step_s},
        "configuration": {"carrier_mhz": cfg["carrier_mhz"], "band": c0.band, "dl_arfcn": c0.dl_arfcn,
                          "scs_khz": c0.scs_khz,
                          "array": f"uniform linear array, {cfg['n_antennas']} elements, half-wavelength spacing",
                          "n_antennas": cfg["n_antennas"],
                          "codebook": f"DFT, {cfg['set_a_size']} beams over sin(angle) in [-1, 1) "
                                      f"({cfg['set_a_size'] / cfg['n_antennas']:g}x oversampled)",
                          "set_a_size": cfg["set_a_size"], "set_b": cfg["set_b"],
                          "set_b_kind": cfg["set_b_kind"], "set_b_elements": cfg["set_b_elements"],
                          "set_b_pattern": set_b_design(cfg),
                          "l1_rsrp_report": "1 dB steps, clipped to [-140, -44] dBm (TS 38.133)",
                          "measurement_noise_db": sc.radio.rsrp_noise_db},
        "provenance": {"source": "simulation",
                       "simulator": {"name": "nextric-testbed", "version": simulator_version()},
                       "scenario": spec.scenario, "shock_regime": spec.regime,
                       "channel_model": (f"3GPP TR 38.901 {sc.radio.pathloss_model} path loss and shadowing; geometric "
                                         f"beam channel: LOS path (K = {sc.radio.los_k_factor_db} dB when LOS) + "
                                         f"{sc.radio.n_clusters} clusters, Laplacian "
                                         f"{sc.radio.cluster_spread_deg} deg"),
                       "generator": "testbed.beam_data.draw_samples", "seeds": [int(s) for s in spec.seeds],
                       "sub_steps": spec.n_steps, "sample_every_sub_steps": spec.every,
                       "behaviour": "testbed default beam selection (best measured Set-B beam; wide: the Set-A "
                                    "beam at its centre), no controls"},
        "environment": {"setting": "outdoor urban micro", "topology": f"{sc.n_cells} cells",
                        "area_m": [sc.width_m, sc.height_m],
                        "mobility": "pedestrian random walk, corridor vehicles, static FWA"},
        "protocol": {"layer": "PHY", "timescale_s": sc.timing.fast_step_s},
        "policy": {"objectives": ["top-1 / top-K beam accuracy", "L1-RSRP loss vs the best Set-A beam"],
                   "logging_policy": "best measured Set-B beam, wide: the Set-A beam at its centre (testbed "
                                     "default)"},
        "evaluation": {"baselines": ["best measured Set-B beam", "last serving beam"],
                       "distribution_shifts": ["UE speed", "SNR", "another codebook size, Set-B pattern or kind "
                                                                "(subset / wide), Set-B beam width, array or carrier "
                                                                "(outside the validity range)"],
                       "failure_criteria": ["top-1 at or below best-in-Set-B"]},
        "validity_range": {"set_a_size": {"values": [cfg["set_a_size"]]}, "set_b": {"values": [cfg["set_b"]]},
                           "set_b_kind": {"values": [cfg["set_b_kind"]]},
                           "set_b_elements": {"values": [cfg["set_b_elements"]]},
                           "n_antennas": {"values": [cfg["n_antennas"]]},
                           "carrier_mhz": {"min": cfg["carrier_mhz"], "max": cfg["carrier_mhz"]}},
        "dataset": {"samples": n, "format": "numpy arrays (generated on demand, not stored)",
                    "arrays": {k: {"dtype": d, "unit": u, "description": s} for k, (d, u, s) in FIELDS.items()},
                    "snr_db_percentiles": {str(q): round(float(np.percentile(snr, q)), 1) for q in (1, 50, 99)}
                    if n else {},
                    "speed_mps_values": sorted({round(float(v), 2) for v in np.unique(arrays["speed_mps"])})},
    }
    return validate_card(doc, f"{doc['name']} card")
