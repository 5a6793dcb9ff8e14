"""Wire models of the guardrail and audit APIs (camelCase JSON); engine values are converted at the edge.

Every float is finite (``allow_inf_nan=False``); the routes refuse non-finite JSON numbers before these models
see them (:class:`nextric.web.FiniteJsonRoute`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from nextric.guardrail import Decision, Risk

Id = Annotated[str, Field(min_length=1, max_length=256)]
Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False, description="seconds on the caller's clock")]
Why = Annotated[str, Field(max_length=2000, description="free text kept in the audit log")]


class Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class SNssaiModel(Wire):
    sst: int = Field(ge=0, le=255)
    sd: str | None = Field(default=None, pattern="^[A-Fa-f0-9]{6}$")


class RrmPolicyModel(Wire):
    """TS 28.541 RRMPolicyRatio for one member slice, percent of the cell's PRBs."""

    member: SNssaiModel
    min_prb_ratio: int = Field(ge=0, le=100)
    max_prb_ratio: int = Field(ge=0, le=100)
    dedicated_prb_ratio: int = Field(ge=0, le=100)


class SlicePrbQuotaModel(Wire):
    kind: Literal["slice_prb_quota"]
    cell_id: Id
    policies: list[RrmPolicyModel] = Field(min_length=1, max_length=64)
    risk: Risk | None = None


class BeamSwitchModel(Wire):
    kind: Literal["beam_switch"]
    cell_id: Id
    ue_id: Id
    beam_id: int = Field(ge=0, le=65535)
    risk: Risk | None = None


class CeModeModel(Wire):
    kind: Literal["ce_mode"]
    cell_id: Id
    target: Id = Field(description="'cell' or a UE group id")
    mode: str = Field(min_length=1, max_length=64)
    risk: Risk | None = None


ActionModel = Annotated[SlicePrbQuotaModel | BeamSwitchModel | CeModeModel, Field(discriminator="kind")]


class ExpectedEffectModel(Wire):
    """Predicted benefit on the intent's target against the status quo (positive = towards the target)."""

    target: str = Field(min_length=1, max_length=128)
    mean: float = Field(allow_inf_nan=False)
    lo: float = Field(allow_inf_nan=False)
    hi: float = Field(allow_inf_nan=False)
    unit: str = Field(default="", max_length=32)


class PredictionModel(Wire):
    sla_violation_probability: float = Field(ge=0, le=1, allow_inf_nan=False)
    model: str = Field(default="unknown", max_length=128)
    horizon_s: Seconds | None = None
    harm_probability: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    expected_effect: ExpectedEffectModel | None = None


class CheckRequest(Wire):
    action: ActionModel
    at: Seconds | None = None
    prediction: PredictionModel | None = None
    approval_id: Id | None = None
    reason: Why | None = None


class ReasonModel(Wire):
    code: str
    rule: str
    message: str
    parameter: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class VerdictModel(Wire):
    verdict_id: str
    decision: Decision
    risk: Risk
    action: ActionModel
    requested_action: ActionModel
    reasons: list[ReasonModel]
    approval_id: str | None = Field(default=None, description="set when an operator approval was requested")
    audit_id: str | None = None


class AppliedRequest(Wire):
    """Exactly one of ``verdictId`` (HTTP check), ``rollbackId`` or ``action`` (checked in-process)."""

    verdict_id: Id | None = None
    rollback_id: Id | None = None
    action: ActionModel | None = None
    at: Seconds | None = None
    reason: Why | None = None


class AppliedResponse(Wire):
    audit_id: str | None
    duplicate: bool


class KpiSampleModel(Wire):
    cell_id: Id
    slice_id: SNssaiModel
    packet_delay_ms: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    packet_loss_rate: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    throughput_kbps: float | None = Field(default=None, ge=0, allow_inf_nan=False)


class KpiReportRequest(Wire):
    at: Seconds | None = None
    samples: list[KpiSampleModel] = Field(max_length=10000)


class BreachModel(Wire):
    cell_id: str
    slice_id: SNssaiModel
    violations: list[str]
    policy_ids: list[str]


class RollbackModel(Wire):
    rollback_id: str
    action: ActionModel
    trigger: Literal["auto", "manual"]
    reason: str
    status: Literal["pending", "applied"]
    created: datetime
    violations: list[str]


class KpiReportResponse(Wire):
    breaches: list[BreachModel]
    rollbacks: list[RollbackModel]


class ManualRollbackRequest(Wire):
    cell_id: Id
    slice_id: SNssaiModel | None = None
    reason: Why | None = None


class ApprovalModel(Wire):
    approval_id: str
    action: ActionModel
    requested_action: ActionModel
    requested_by: str
    status: Literal["pending", "approved", "rejected", "used", "expired"]
    decided_by: str | None = None
    comment: str | None = None
    created: datetime


class ApprovalDecision(Wire):
    decision: Literal["approve", "reject"]
    comment: Why | None = None


class AuditRecordModel(Wire):
    id: str
    ts: datetime
    kind: str
    actor: str
    roles: list[str]
    subject: str | None = None
    decision: str | None = None
    why: str | None = None
    data: dict[str, Any]


class AuditPage(Wire):
    items: list[AuditRecordModel]
    next: str | None = Field(description="cursor for the next page (pass as ?after=), null at the end")
