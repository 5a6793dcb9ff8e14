"""Shared training helpers (imports torch: training only, never from serving code): seeding, ONNX export,
model cards."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nextric.datacard import DataCard, save_card, validate_card
from nextric.topology import Topology

MODEL_DIR = Path(__file__).resolve().parent.parent / "model"
CACHE_DIR = Path(__file__).resolve().parents[3] / "build" / "worldmodels"


def seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    torch.set_num_threads(1)


def export_onnx(model: torch.nn.Module, args: tuple[torch.Tensor, ...], path: Path, input_names: list[str],
                output_names: list[str], dynamic: dict[str, dict[int, str]]) -> str:
    """Export with the TorchScript-based exporter (no onnxscript needed); returns the file's SHA-256."""
    model.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(model, args, str(path), input_names=input_names, output_names=output_names,
                      dynamic_axes=dynamic, opset_version=17, dynamo=False, do_constant_folding=True)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def model_card(sc: Topology, name: str, task: str, description: str, seeds: list[int],
               logging_policy: str, model: dict[str, Any], evaluation: dict[str, Any],
               dataset: dict[str, Any], failure_checks: list[dict[str, Any]] | None = None,
               provenance: dict[str, Any] | None = None) -> DataCard:
    """A validated model card (kind ``model``) for a world model trained on twin rollouts of the network ``sc``;
    ``failure_checks`` are the machine-checkable form of its failure criteria
    (:func:`nextric.datacard.failed_criteria`, checked by the serving code at load time); ``provenance`` the
    simulator facts the training network reports (``simulator`` name/version, ``channel_model``)."""
    prov = provenance or {}
    doc: dict[str, Any] = {
        "kind": "model", "schema_version": "1.0", "name": name,
        "task": {"name": task, "description": description,
                 "action_space": (f"prb [0,1]^({sc.n_cells}x{sc.n_slices}), "
                                  f"transport [0,1]^({sc.n_links}x{sc.n_slices}) per slow step"),
                 "latency_budget_s": sc.slow_step_s},
        "configuration": {"scenario": sc.scenario, "cells": sc.n_cells, "links": sc.n_links, "slices": sc.n_slices,
                          "slow_step_s": sc.slow_step_s, "horizon_steps": sc.slow_steps_per_horizon,
                          "scheduler": "TS 28.541 RRMPolicyRatio, min = max = share (isolated)"},
        "provenance": {"source": "simulation",
                       "simulator": prov.get("simulator", {"name": "digital twin service", "version": "unknown"}),
                       "scenario": sc.scenario, "shock_regime": "hotspot-ID, wave-ID (in-distribution only)",
                       "channel_model": prov.get("channel_model", "unknown (emulator warm-up)")
                                        + ", KPM-level twin rollouts",
                       "seeds": seeds,
                       "pipeline": "network warm-up under uniform shares -> E2 KPM -> twin service Rollout "
                                   "(open loop, per-step detail) (rapps/intent_agent/worldmodels/datagen.py)"},
        "environment": {"setting": "outdoor urban", "topology": f"{sc.n_cells} cells, hub-and-spoke transport "
                        f"({len(sc.nodes)} nodes, {sc.n_links} links)"},
        "protocol": {"layer": "CROSS-DOMAIN", "timescale_s": sc.slow_step_s,
                     "fast_timescale_s": sc.fast_step_s},
        "policy": {"objectives": ["SLA compliance (SCM)", "control cost"], "logging_policy": logging_policy},
        "evaluation": {"baselines": ["uniform 1/3", "digital twin"],
                       "distribution_shifts": ["hotspot/wave ID -> OOD (not in training data)"],
                       "failure_criteria": ["held-out R^2 < 0.8", "90 % interval coverage outside 0.85-0.95"],
                       "failure_checks": failure_checks or [],
                       **evaluation},
        "model": model,
        "dataset": dataset,
        "validity_range": {"scenario": {"values": [sc.scenario]}, "shock_family": {"values": ["hotspot", "wave"]},
                           "horizon_steps": {"min": 1, "max": sc.slow_steps_per_horizon}},
    }
    return validate_card(doc, f"{name} card")


def write_card(card: DataCard, path: Path) -> Path:
    return save_card(card, path)


def r2_per_feature(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Coefficient of determination per last-axis feature over all leading axes."""
    yf = y.reshape(-1, y.shape[-1]).astype(np.float64)
    pf = pred.reshape(-1, y.shape[-1]).astype(np.float64)
    ss_res = ((yf - pf) ** 2).sum(0)
    ss_tot = ((yf - yf.mean(0)) ** 2).sum(0)
    return np.asarray(np.where(ss_tot > 1e-12, 1.0 - ss_res / np.maximum(ss_tot, 1e-12), 1.0))


def train_command(model: str, scenario: str) -> str:
    """The command that trains ``model`` for ``scenario`` (recorded in its card)."""
    return f"nextric train {model}" + ("" if scenario == "twm_poc" else f" --city {scenario}")
