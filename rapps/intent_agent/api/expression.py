"""Wire shape of a TMF921 intent ``expression`` (JSON-LD, TS 28.312 expectations), checked at the edge.

Only the shape is checked here (objects where objects belong, arrays where arrays do, finite numbers, bounded
sizes); what the values mean (conditions, KPI names and ranges, cells, time windows) is checked by
:func:`rapps.intent_agent.intents.expectations.from_expectations`. Unknown members are kept (TMF921 allows
extensions), known ones must have their type: a malformed shape is a 400 problem+json naming the field.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Number = Annotated[float, Field(allow_inf_nan=False)]
Text = Annotated[str, Field(max_length=128)]
Scalar = Number | Text


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ContextIn(_Open):
    contextAttribute: str = Field(..., max_length=64)
    contextCondition: str | None = Field(None, max_length=64)
    contextValueRange: list[Scalar] | Scalar | None = None


class TargetIn(_Open):
    targetName: str = Field(..., min_length=1, max_length=128, description="<slice>.<attribute>, e.g. "
                            "URLLC.p99LatencyMs")
    targetCondition: str = Field(..., max_length=32, description="IS_LESS_THAN | IS_GREATER_THAN | "
                                 "IS_WITHIN_RANGE | IS_EQUAL_TO")
    targetValueRange: Annotated[list[Scalar], Field(min_length=1, max_length=2)] | Scalar
    targetUnit: str | None = Field(None, max_length=32)


class ObjectIn(_Open):
    objectType: str | None = Field(None, max_length=64)
    objectInstance: str | None = Field(None, max_length=128)
    objectContexts: list[ContextIn] = Field(default_factory=list, max_length=16)


class ExpectationIn(_Open):
    expectationId: str | None = Field(None, max_length=64)
    expectationVerb: str | None = Field(None, max_length=32)
    expectationObject: ObjectIn | None = None
    expectationTargets: list[TargetIn] = Field(default_factory=list, max_length=32)
    expectationContexts: list[ContextIn] = Field(default_factory=list, max_length=16)


class ExpressionValueIn(_Open):
    intentExpectations: list[ExpectationIn] | None = Field(None, max_length=16)


class ExpressionIn(_Open):
    type_: str | None = Field(None, alias="@type", max_length=64)
    expressionValue: ExpressionValueIn | None = None
