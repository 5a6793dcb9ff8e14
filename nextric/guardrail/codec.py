"""JSON (camelCase, as on the wire) <-> engine values, shared by the policy service and HTTP clients."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nextric.errors import ValidationError
from nextric.guardrail.model import (
    Action,
    BeamSwitchAction,
    CeModeAction,
    ExpectedEffect,
    Prediction,
    Reason,
    Risk,
    RrmPolicy,
    SlicePrbQuotaAction,
    SNssai,
    Verdict,
)


def snssai_to_json(s: SNssai) -> dict[str, Any]:
    return {"sst": s.sst} if s.sd is None else {"sst": s.sst, "sd": s.sd}


def snssai_from_json(obj: Mapping[str, Any]) -> SNssai:
    return SNssai(int(obj["sst"]), obj.get("sd"))


def rrm_to_json(p: RrmPolicy) -> dict[str, Any]:
    return {
        "member": snssai_to_json(p.member),
        "minPrbRatio": p.min_prb_ratio,
        "maxPrbRatio": p.max_prb_ratio,
        "dedicatedPrbRatio": p.dedicated_prb_ratio,
    }


def rrm_from_json(obj: Mapping[str, Any]) -> RrmPolicy:
    return RrmPolicy(
        snssai_from_json(obj["member"]),
        int(obj["minPrbRatio"]),
        int(obj["maxPrbRatio"]),
        int(obj["dedicatedPrbRatio"]),
    )


def action_to_json(a: Action) -> dict[str, Any]:
    if isinstance(a, SlicePrbQuotaAction):
        return {
            "kind": a.kind,
            "cellId": a.cell_id,
            "risk": a.risk.value,
            "policies": [rrm_to_json(p) for p in a.policies],
        }
    if isinstance(a, BeamSwitchAction):
        return {
            "kind": a.kind,
            "cellId": a.cell_id,
            "risk": a.risk.value,
            "ueId": a.ue_id,
            "beamId": a.beam_id,
        }
    return {"kind": a.kind, "cellId": a.cell_id, "risk": a.risk.value, "target": a.target, "mode": a.mode}


def action_from_json(obj: Mapping[str, Any]) -> Action:
    """Raises :class:`~nextric.errors.ValidationError` on an unknown kind or a missing field."""
    try:
        kind = obj["kind"]
        risk = Risk(obj["risk"]) if obj.get("risk") is not None else None
        if kind == "slice_prb_quota":
            return SlicePrbQuotaAction(
                str(obj["cellId"]), tuple(rrm_from_json(p) for p in obj["policies"]), risk or Risk.LOW
            )
        if kind == "beam_switch":
            return BeamSwitchAction(
                str(obj["cellId"]), str(obj["ueId"]), int(obj["beamId"]), risk or Risk.LOW
            )
        if kind == "ce_mode":
            return CeModeAction(str(obj["cellId"]), str(obj["target"]), str(obj["mode"]), risk or Risk.MEDIUM)
    except (KeyError, TypeError, ValueError, OverflowError) as exc:  # OverflowError: int(inf)
        raise ValidationError(f"malformed action: {exc}") from exc
    raise ValidationError(f"unknown action kind {kind!r}")


def prediction_from_json(obj: Mapping[str, Any]) -> Prediction:
    eff = obj.get("expectedEffect")
    return Prediction(
        float(obj["slaViolationProbability"]),
        str(obj.get("model", "unknown")),
        None if obj.get("horizonS") is None else float(obj["horizonS"]),
        None if obj.get("harmProbability") is None else float(obj["harmProbability"]),
        None if eff is None else ExpectedEffect(str(eff["target"]), float(eff["mean"]), float(eff["lo"]),
                                                float(eff["hi"]), str(eff.get("unit", ""))),
    )


def prediction_to_json(p: Prediction) -> dict[str, Any]:
    out: dict[str, Any] = {"slaViolationProbability": p.sla_violation_probability, "model": p.model}
    if p.horizon_s is not None:
        out["horizonS"] = p.horizon_s
    if p.harm_probability is not None:
        out["harmProbability"] = p.harm_probability
    if p.effect is not None:
        e = p.effect
        out["expectedEffect"] = {"target": e.target, "mean": e.mean, "lo": e.lo, "hi": e.hi, "unit": e.unit}
    return out


def reason_to_json(r: Reason) -> dict[str, Any]:
    return {
        "code": r.code.value,
        "rule": r.rule,
        "message": r.message,
        "parameter": r.parameter,
        "detail": r.detail,
    }


def verdict_to_json(v: Verdict) -> dict[str, Any]:
    return {
        "decision": v.decision.value,
        "risk": v.risk.value,
        "action": action_to_json(v.action),
        "requestedAction": action_to_json(v.requested),
        "reasons": [reason_to_json(r) for r in v.reasons],
    }
