"""Wireless data cards for testbed trajectory batches (validated by :mod:`nextric.datacard`)."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import metadata
from typing import Any

from nextric.datacard import DataCard, validate_card
from testbed.core.params import ScenarioParams
from testbed.core.shocks import ShockRegime


def simulator_version() -> str:
    """Installed nextric version (the testbed ships with it)."""
    try:
        return metadata.version("nextric")
    except metadata.PackageNotFoundError:
        return "0.0.0+local"


def trajectory_card(sc: ScenarioParams, regime: ShockRegime, seeds: list[int], logging_policy: str,
                    task: str = "cross-domain slicing trajectories",
                    description: str = "slow-step KPIs under PRB and transport share allocations",
                    timescale_s: float | None = None, extra: Mapping[str, Any] | None = None) -> DataCard:
    """Card for a batch of emulator trajectories of scenario ``sc`` under ``regime``.

    ``timescale_s`` is the record period (default: the slow step); ``extra`` adds sections (e.g. ``dataset``:
    files, checksums, array shapes and units) to the validated document.
    """
    c0 = sc.cells[0]
    doc: dict[str, Any] = {
        "kind": "dataset", "schema_version": "1.0", "name": f"{sc.name}-{regime.label}-trajectories",
        "task": {"name": task, "description": description,
                 "action_space": (f"prb [0,1]^({sc.n_cells}x{sc.n_slices}), "
                                  f"transport [0,1]^({sc.n_links}x{sc.n_slices})"),
                 "prediction_target": "per-slice loss, URLLC p99 latency, SCM",
                 "latency_budget_s": sc.timing.slow_step_s,
                 "safety_constraints": [f"{s.name} loss <= {s.sla_loss}" for s in sc.slices]},
        "configuration": {"carrier_ghz": c0.fc_ghz, "bandwidth_mhz": c0.bandwidth_mhz, "scs_khz": c0.scs_khz,
                          "n_prb": c0.n_prb, "antennas": sc.radio.n_antennas,
                          "beam_codebook": f"DFT Set A {sc.radio.n_beams_set_a}, Set B {len(sc.radio.set_b)}",
                          "pilots": "NR DMRS type 1, mapping type A, l0=2", "scheduler": "TS 28.541 RRMPolicyRatio"},
        "provenance": {"source": "simulation", "simulator": {"name": "nextric-testbed", "version": simulator_version()},
                       "scenario": sc.name, "shock_regime": regime.label,
                       "channel_model": f"3GPP TR 38.901 {sc.radio.pathloss_model} + TDL-A/B/C",
                       "mobility": "pedestrian random walk, corridor vehicles, static FWA",
                       "traffic": "per-UE log-normal AR(1) rates", "seeds": list(seeds)},
        "environment": {"setting": "outdoor urban", "topology": f"{sc.n_cells} cells, hub-and-spoke transport "
                        f"({len(sc.transport.nodes)} nodes, {sc.n_links} links)",
                        "area_m": [sc.width_m, sc.height_m], "zones": [z.name for z in sc.zones]},
        "protocol": {"layer": "CROSS-DOMAIN",
                     "timescale_s": sc.timing.slow_step_s if timescale_s is None else timescale_s,
                     "fast_timescale_s": sc.timing.fast_step_s},
        "policy": {"objectives": ["SLA compliance (SCM)", "control cost"], "logging_policy": logging_policy},
        "evaluation": {"baselines": ["uniform 1/3"], "distribution_shifts": ["hotspot/wave ID -> OOD"],
                       "failure_criteria": ["SCM = 0"]},
    }
    doc.update(extra or {})
    return validate_card(doc, f"{sc.name} trajectory card")
