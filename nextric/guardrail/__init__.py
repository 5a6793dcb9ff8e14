"""The pure guardrail engine: action + context (+ world-model prediction) in, verdict out.

xApps call :func:`check` in-process on the fast path and keep a :class:`GuardrailState`; the policy service
calls the same function behind its HTTP API. No I/O, no clock reads: time is passed in.
"""

from nextric.guardrail.engine import check
from nextric.guardrail.model import (
    Action,
    ApprovalMode,
    BeamSwitchAction,
    CeModeAction,
    Decision,
    ExpectedEffect,
    Prediction,
    Reason,
    ReasonCode,
    Risk,
    RrmPolicy,
    SlicePrbQuotaAction,
    SNssai,
    Verdict,
    action_parameters,
    prb_parameter,
)
from nextric.guardrail.policy import DEFAULT_POLICY, Bounds, GuardrailPolicy, SliceBounds, from_a1, merge
from nextric.guardrail.rollback import (
    Breach,
    RollbackDecision,
    RollbackTracker,
    breaches_of,
    rollback_actions,
)
from nextric.guardrail.sla import KpiSample, SliceSla, sla_from_a1
from nextric.guardrail.state import Context, Eviction, GuardrailState

__all__ = [
    "DEFAULT_POLICY",
    "Action",
    "ApprovalMode",
    "BeamSwitchAction",
    "Bounds",
    "Breach",
    "CeModeAction",
    "Context",
    "Decision",
    "Eviction",
    "ExpectedEffect",
    "GuardrailPolicy",
    "GuardrailState",
    "KpiSample",
    "Prediction",
    "Reason",
    "ReasonCode",
    "Risk",
    "RollbackDecision",
    "RollbackTracker",
    "RrmPolicy",
    "SNssai",
    "SliceBounds",
    "SlicePrbQuotaAction",
    "SliceSla",
    "Verdict",
    "action_parameters",
    "breaches_of",
    "check",
    "from_a1",
    "merge",
    "prb_parameter",
    "rollback_actions",
    "sla_from_a1",
]
