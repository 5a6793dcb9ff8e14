"""The A1 policy types this service offers, their JSON Schemas, and instance validation.

``ORAN_SliceSLATarget_1.0.0`` follows the O-RAN A1TD slice SLA target (scope: slice id + optional cells;
objectives); ``NEXTRIC_Guardrail_1.0.0`` configures the guardrail engine. Both status schemas use the
A1TD enforcement status.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft7Validator

from nextric.errors import ValidationError
from nextric.finite import require_finite
from nextric.guardrail import from_a1, sla_from_a1

SLICE_SLA_TYPE = "ORAN_SliceSLATarget_1.0.0"
GUARDRAIL_TYPE = "NEXTRIC_Guardrail_1.0.0"

_DRAFT7 = "http://json-schema.org/draft-07/schema#"
_PLMN = {
    "type": "object",
    "properties": {
        "mcc": {"type": "string", "pattern": "^[0-9]{3}$"},
        "mnc": {"type": "string", "pattern": "^[0-9]{2,3}$"},
    },
    "required": ["mcc", "mnc"],
    "additionalProperties": False,
}
_SST = {"type": "integer", "minimum": 0, "maximum": 255}
_SD = {"type": "string", "pattern": "^[A-Fa-f0-9]{6}$"}
_CELLS = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "uniqueItems": True}
_PERCENT = {"type": "integer", "minimum": 0, "maximum": 100}
_BOUNDS = {
    "type": "object",
    "description": "closed interval in percent of the cell's PRBs",
    "properties": {"lower": _PERCENT, "upper": _PERCENT},
    "additionalProperties": False,
}
_MODE = {"type": "string", "enum": ["autonomous", "advisory"]}
#: upper ends of the otherwise open numeric fields: beyond them a value is a typo or an attack, never a target
MAX_DELAY_MS = 60_000.0  #: a packet delay objective of a minute (5QI budgets stay below 1 s)
MAX_THROUGHPUT_KBPS = 1e9  #: 1 Tbit/s per slice
MAX_INTERVAL_MS = 86_400_000.0  #: one day between two changes of a parameter

SLICE_SLA_SCHEMA: dict[str, Any] = {
    "$schema": _DRAFT7,
    "title": SLICE_SLA_TYPE,
    "description": "Slice SLA target (after O-RAN A1TD ORAN_SliceSLATarget).",
    "type": "object",
    "properties": {
        "scope": {
            "type": "object",
            "properties": {
                "sliceId": {
                    "type": "object",
                    "properties": {"plmnId": _PLMN, "sst": _SST, "sd": _SD},
                    "required": ["plmnId", "sst"],
                    "additionalProperties": False,
                },
                "cellIdList": _CELLS,
            },
            "required": ["sliceId"],
            "additionalProperties": False,
        },
        "sliceSlaObjectives": {
            "type": "object",
            "properties": {
                "maxPacketDelayMs": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_DELAY_MS,
                                     "description": "ms"},
                "maxPacketLossRate": {"type": "number", "minimum": 0, "maximum": 1, "description": "ratio"},
                "guaThroughputKbps": {"type": "number", "minimum": 0, "maximum": MAX_THROUGHPUT_KBPS,
                                      "description": "kbit/s"},
                "maxThroughputKbps": {"type": "number", "minimum": 0, "maximum": MAX_THROUGHPUT_KBPS,
                                      "description": "kbit/s"},
                "priorityLevel": {"type": "integer", "minimum": 1, "maximum": 255},
            },
            "minProperties": 1,
            "additionalProperties": False,
        },
    },
    "required": ["scope", "sliceSlaObjectives"],
    "additionalProperties": False,
}

GUARDRAIL_SCHEMA: dict[str, Any] = {
    "$schema": _DRAFT7,
    "title": GUARDRAIL_TYPE,
    "description": "Guardrail limits: RRMPolicyRatio bounds, steps, update rate, approval, rollback.",
    "type": "object",
    "properties": {
        "scope": {"type": "object", "properties": {"cellIdList": _CELLS}, "additionalProperties": False},
        "sliceBounds": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "sliceId": {
                        "type": "object",
                        "properties": {"plmnId": _PLMN, "sst": _SST, "sd": _SD},
                        "required": ["sst"],
                        "additionalProperties": False,
                    },
                    "minPrbRatio": _BOUNDS,
                    "maxPrbRatio": _BOUNDS,
                    "dedicatedPrbRatio": _BOUNDS,
                },
                "required": ["sliceId"],
                "additionalProperties": False,
            },
        },
        "maxStepPercent": {"type": "integer", "minimum": 1, "maximum": 100},
        "minUpdateIntervalMs": {"type": "number", "minimum": 0, "maximum": MAX_INTERVAL_MS, "default": 1000},
        "kindMinUpdateIntervalMs": {
            "type": "object",
            "properties": {
                k: {"type": "number", "minimum": 0, "maximum": MAX_INTERVAL_MS}
                for k in ("slice_prb_quota", "beam_switch", "ce_mode")
            },
            "additionalProperties": False,
        },
        "slaViolationProbabilityThreshold": {"type": "number", "minimum": 0, "maximum": 1},
        "harmProbabilityThreshold": {"type": "number", "minimum": 0, "maximum": 1},
        "requireExpectedEffect": {"type": "boolean"},
        "approval": {
            "type": "object",
            "properties": {"low": _MODE, "medium": _MODE, "high": _MODE},
            "additionalProperties": False,
        },
        "riskThresholds": {
            "type": "object",
            "properties": {"mediumStepPercent": _PERCENT, "highStepPercent": _PERCENT,
                           "mediumViolationProbability": {"type": "number", "minimum": 0, "maximum": 1},
                           "highViolationProbability": {"type": "number", "minimum": 0, "maximum": 1}},
            "additionalProperties": False,
        },
        "rollback": {
            "type": "object",
            "properties": {"consecutiveBreachPeriods": {"type": "integer", "minimum": 1, "maximum": 1000}},
            "additionalProperties": False,
        },
        "allowedCeModes": {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True},
    },
    "additionalProperties": False,
}

STATUS_SCHEMA: dict[str, Any] = {
    "$schema": _DRAFT7,
    "type": "object",
    "properties": {
        "enforceStatus": {"type": "string", "enum": ["ENFORCED", "NOT_ENFORCED"]},
        "enforceReason": {
            "type": "string",
            "enum": ["SCOPE_NOT_APPLICABLE", "STATEMENT_NOT_APPLICABLE", "OTHER_REASON"],
        },
        "detail": {"type": "string"},
    },
    "required": ["enforceStatus"],
}


@dataclass(frozen=True)
class PolicyType:
    """A policy type: schemas plus the semantic check that parses an instance into engine values."""

    type_id: str
    policy_schema: dict[str, Any]
    status_schema: dict[str, Any]
    semantic: Callable[[Mapping[str, Any]], object]

    def validate(self, body: object) -> None:
        """Raise :class:`ValidationError` unless ``body`` satisfies the schema and the semantic rules; a number that
        is not finite (NaN, Infinity, 1e400) or an integer beyond the I-JSON range is refused first, naming the
        field (JSON Schema's ``number`` admits NaN, and NaN passes every bound)."""
        require_finite(body)
        errors = sorted(Draft7Validator(self.policy_schema).iter_errors(body), key=lambda e: list(e.path))
        if errors:
            first = errors[0]
            where = "/".join(str(p) for p in first.absolute_path) or "(root)"
            raise ValidationError(f"{where}: {first.message}")
        assert isinstance(body, Mapping)
        self.semantic(body)


def _sla_semantic(body: Mapping[str, Any]) -> object:
    sla = sla_from_a1(body)
    if (
        sla.gua_throughput_kbps is not None
        and sla.max_throughput_kbps is not None
        and sla.gua_throughput_kbps > sla.max_throughput_kbps
    ):
        raise ValidationError("sliceSlaObjectives: guaThroughputKbps exceeds maxThroughputKbps")
    return sla


def _guardrail_semantic(body: Mapping[str, Any]) -> object:
    for entry in body.get("sliceBounds", []):
        for name in ("minPrbRatio", "maxPrbRatio", "dedicatedPrbRatio"):
            b = entry.get(name, {})
            if b.get("lower", 0) > b.get("upper", 100):
                raise ValidationError(f"sliceBounds/{name}: lower exceeds upper")
    policy = from_a1(body)
    if policy.medium_step_pp > policy.high_step_pp:
        raise ValidationError("riskThresholds: mediumStepPercent exceeds highStepPercent")
    if policy.medium_violation > policy.high_violation:
        raise ValidationError("riskThresholds: mediumViolationProbability exceeds highViolationProbability")
    return policy


def builtin_types() -> dict[str, PolicyType]:
    """The policy types served under ``/A1-P/v2/policytypes``."""
    return {
        SLICE_SLA_TYPE: PolicyType(SLICE_SLA_TYPE, SLICE_SLA_SCHEMA, STATUS_SCHEMA, _sla_semantic),
        GUARDRAIL_TYPE: PolicyType(GUARDRAIL_TYPE, GUARDRAIL_SCHEMA, STATUS_SCHEMA, _guardrail_semantic),
    }
