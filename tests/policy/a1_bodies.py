"""Valid A1 policy bodies used across the policy tests."""

from __future__ import annotations

from typing import Any

SLA = "ORAN_SliceSLATarget_1.0.0"
GUARD = "NEXTRIC_Guardrail_1.0.0"
BASE = "/A1-P/v2"


def sla_body(sst: int = 1, sd: str = "000001", cells: list[str] | None = None, **objectives: Any) -> dict[str, Any]:
    scope: dict[str, Any] = {"sliceId": {"plmnId": {"mcc": "001", "mnc": "01"}, "sst": sst, "sd": sd}}
    if cells:
        scope["cellIdList"] = cells
    return {"scope": scope, "sliceSlaObjectives": objectives or {"maxPacketDelayMs": 20.0, "maxPacketLossRate": 0.01}}


def guard_body(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sliceBounds": [
            {
                "sliceId": {"sst": 1, "sd": "000001"},
                "minPrbRatio": {"lower": 10, "upper": 60},
                "maxPrbRatio": {"lower": 20, "upper": 100},
            }
        ],
        "maxStepPercent": 10,
        "minUpdateIntervalMs": 1000,
        "rollback": {"consecutiveBreachPeriods": 2},
    }
    body.update(extra)
    return body


def policy_url(type_id: str, policy_id: str) -> str:
    return f"{BASE}/policytypes/{type_id}/policies/{policy_id}"
