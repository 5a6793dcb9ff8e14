"""Public interface of the slicing planner (stable: the intent harness codes against it).

The harness builds a :class:`PlanRequest` from the network's description (the twin service's ``Describe``), the
compiled intent (objective weights, per-slice ceilings, admissible share bounds) and the recent observations (E2
KPM messages as the twin accepts them, link alarms), calls :func:`plan_slicing` once per planning horizon (Phase
1) with the twin service as its :class:`~rapps.intent_agent.planner.twin.TwinPort`, then :func:`monitor_step`
after every executed slow step (Phase 2). Both return plain dataclasses with the full decision trace.

Shapes (default city): K = horizon slow steps (12), C = cells (10), L = transport links (10), S = slices (3,
scenario order eMBB, URLLC, FWA). PRB shares map to RRMPolicyRatio min = max = share
(isolated RRMPolicyRatio); a row (cell or link) sums to <= 1.

Methods (``PlanRequest.method``):

* ``"improved"`` (default): surrogate search (cross-entropy method over the continuous shares, batched
  FWM + CDWM), risk-aware choice on the CDWM prediction intervals, twin verification of the top 3, replanning
  with the surrogates at every slow step in Phase 2.
* ``"twm"``: the paper-faithful pipeline (256-candidate library, keep 128, rule prescreen, FWM + CDWM ranking,
  twin verification of the top 3 = 12 twin rollouts, uniform fallback, corner-case monitoring).
* ``"fwm-only"``, ``"cdwm-only"``: single-layer ablations (ranking only, no twin verification).
* ``"dt-fair"``: budget-matched twin search (24 library candidates x 16 twin seeds = 384 twin rollouts).
* ``"rules"``: the world-model-free agent (zone rules scaled to observed load, no prediction).
* ``"uniform"``: 1/S everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nextric.arrays import BoolArray, FloatArray
from nextric.e2sm.kpm.v1 import kpm_pb2
from nextric.topology import Topology

METHODS = ("improved", "twm", "fwm-only", "cdwm-only", "dt-fair", "rules", "uniform")


@dataclass(frozen=True)
class ObjectiveWeights:
    """Utility = ``scm`` x predicted SCM + ``cost`` x predicted cost reduction - ``risk`` x P(SLA violation).

    ``risk_quantile`` (improved planner only): the planner scores the SCM at this lower quantile of the
    prediction interval instead of its mean (0.5 = the median, smaller = more cautious)."""

    scm: float = 1.0
    cost: float = 0.25
    risk: float = 0.3
    risk_quantile: float = 0.25


@dataclass(frozen=True)
class SliceCeiling:
    """Hard constraint of one slice (by scenario slice name): loss fraction and optional p99 latency (ms)."""

    slice_name: str
    max_loss: float
    max_p99_ms: float | None = None


@dataclass(frozen=True)
class ActionBounds:
    """Admissible shares: per-entry [min, max] and the largest L1 change of one row between slow steps."""

    prb_min: float = 0.0
    prb_max: float = 1.0
    tn_min: float = 0.0
    tn_max: float = 1.0
    max_row_change: float = 2.0  #: 2.0 = unrestricted (an L1 distance between two rows is at most 2)


@dataclass(frozen=True, eq=False)
class PlanRequest:
    """Everything one planning decision needs (observations only: never the emulator's hidden state)."""

    topology: Topology  #: the network as the twin service describes it
    kpm_history: tuple[kpm_pb2.KpmIndicationMessage, ...]  #: recent KPM periods as received over E2, every cell's
    #: rows of a period in one message (the twin's and the world models' input)
    regime: str = "hotspot-ID"  #: shock family the twin assumes (``hotspot-ID`` ... ``wave-OOD``)
    link_up: BoolArray | None = None  #: (L,) link alarms (None = all up)
    current_prb: FloatArray | None = None  #: (C, S) shares in force (None = uniform)
    current_tn: FloatArray | None = None  #: (L, S)
    objective: ObjectiveWeights = field(default_factory=ObjectiveWeights)
    ceilings: tuple[SliceCeiling, ...] = ()  #: empty = the scenario's SLA ceilings
    bounds: ActionBounds = field(default_factory=ActionBounds)
    horizon: int = 12  #: slow steps (must equal the world models' horizon)
    seed: int = 0  #: planner seed (candidate library, CEM, twin streams)
    twin_budget: int = 12  #: twin rollouts (candidate x seed) allowed for this decision
    method: str = "improved"


@dataclass(frozen=True)
class KpiForecast:
    """Predicted horizon KPIs of one plan with 90 % prediction intervals (lo = 5 %, hi = 95 %)."""

    loss: tuple[float, ...]  #: (S,) mean predicted loss fraction per slice
    loss_lo: tuple[float, ...]
    loss_hi: tuple[float, ...]
    p99_ms: tuple[float, ...]  #: (S,) predicted p99 latency per slice
    p99_lo: tuple[float, ...]
    p99_hi: tuple[float, ...]
    throughput_mbps: tuple[float, ...]  #: (S,)
    scm: float  #: mean over predictive samples of the SLA Compliance Margin (nextric.kpi.scm)
    scm_lo: float
    scm_hi: float
    violation_risk: float  #: share of predictive samples with SCM = 0
    disagreement: float  #: ensemble spread (std of member means of SCM)
    cost: float  #: control cost J (exact, nextric.kpi.control_cost)
    cost_reduction: float  #: 1 - J / J_uniform


@dataclass(frozen=True)
class TwinCheck:
    """Twin verification of one candidate (``n_seeds`` rollouts = twin calls)."""

    candidate: str
    scm: tuple[float, ...]  #: per twin seed
    mean_scm: float
    loss: tuple[float, ...]  #: (S,) mean over seeds
    p99_ms: tuple[float, ...]
    cost_reduction: float
    passed: bool
    why: str


@dataclass(frozen=True)
class CandidateTrace:
    """One candidate's path through the pipeline."""

    name: str  #: e.g. ``library/zone-3`` or ``cem/iter2/17``
    family: str
    verdict: str  #: ``prescreen-reject`` | ``ranked`` | ``verified-pass`` | ``verified-fail`` | ``chosen`` ...
    score: float | None = None  #: planner utility (None when not scored)
    why: str = ""


@dataclass(frozen=True)
class PlanTrace:
    """What the planner did and why (kept with every decision)."""

    method: str
    steps: tuple[str, ...]  #: human-readable log of the phases
    candidates: tuple[CandidateTrace, ...]
    n_generated: int
    n_kept: int
    n_prescreened_out: int
    n_scored: int
    surrogate_evals: int  #: candidate evaluations by FWM + CDWM (not twin calls)
    why: str  #: one sentence: why this plan
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class PlanResult:
    """The chosen plan (K slow steps) with its forecast, twin verification and trace."""

    prb: FloatArray  #: (K, C, S) PRB shares per slow step
    tn: FloatArray  #: (K, L, S) transport shares per slow step
    expected: KpiForecast | None  #: surrogate forecast of the chosen plan (None for model-free methods)
    twin_checks: tuple[TwinCheck, ...]
    trace: PlanTrace
    models: dict[str, str]  #: model name -> card name + artefact SHA-256 (empty when no model was used)
    fallback: bool  #: True when no candidate passed verification and uniform was chosen
    twin_calls: int  #: twin rollouts spent (candidates x seeds)
    decision_s: float  #: wall time of this decision
    method: str

    def step_action(self, k: int) -> tuple[FloatArray, FloatArray]:
        """PRB (C, S) and transport (L, S) shares of slow step ``k``."""
        return np.asarray(self.prb[k]), np.asarray(self.tn[k])


@dataclass(frozen=True, eq=False)
class MonitorVerdict:
    """Phase 2 after one executed slow step: keep the plan or switch the remainder (``plan`` is the new one)."""

    step: int  #: slow steps executed so far
    corner_case: bool
    risk: float  #: predicted violation risk of the remaining plan
    disagreement: float  #: ensemble disagreement of the remaining plan
    proposed: bool  #: an alternative was proposed
    gate_passed: bool  #: the alternative passed the do-no-harm gate (and was adopted)
    plan: PlanResult  #: the plan now in force (same object when unchanged); its step ``step`` is next
    why: str


def plan_slicing(request: PlanRequest, twin: Any, models: Any | None = None) -> PlanResult:
    """Phase 1: choose a K-step shares plan for ``request``.

    ``twin`` is a :class:`rapps.intent_agent.planner.twin.TwinPort` (the twin service); ``models`` a
    :class:`rapps.intent_agent.worldmodels.serving.WorldModels` (loaded once and reused; None loads the committed
    ONNX artefacts). Raises :class:`nextric.errors.ValidationError` on bad input."""
    from rapps.intent_agent.planner.run import plan

    return plan(request, twin, models)


def monitor_step(request: PlanRequest, current: PlanResult, step: int, models: Any | None = None) -> MonitorVerdict:
    """Phase 2: after ``step`` executed slow steps, re-check the rest of ``current`` with FWM + CDWM on the
    observations in ``request`` (its ``kpm_history`` must include the executed steps) and, on a corner case
    (high predicted violation risk or ensemble disagreement), propose an alternative that must pass the
    do-no-harm gate. The improved method replans with the surrogates at every step instead."""
    from rapps.intent_agent.planner.run import monitor

    return monitor(request, current, step, models)
