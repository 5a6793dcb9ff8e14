"""The A1-over-RMR messages of the O-RAN SC A1 mediator (pure: bytes in, decisions and bytes out).

Request (A1_POLICY_REQ, 20010): ``{"operation": "CREATE"|"UPDATE"|"DELETE", "policy_type_id": int,
"policy_instance_id": str, "payload": {...}}``. Response (A1_POLICY_RESP, 20011): ``{"policy_type_id",
"policy_instance_id", "handler_id", "status": "OK"|"ERROR"|"DELETED"}``. Query (A1_POLICY_QUERY, 20012):
``{"policy_type_id": int}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

A1_POLICY_REQ = 20010
A1_POLICY_RESP = 20011
A1_POLICY_QUERY = 20012
OPERATIONS = ("CREATE", "UPDATE", "DELETE")


class A1MessageError(ValueError):
    """The request cannot be understood; answered with status ERROR when its ids are known."""

    def __init__(self, message: str, type_id: int | None = None, instance_id: str | None = None) -> None:
        super().__init__(message)
        self.type_id = type_id
        self.instance_id = instance_id


@dataclass(frozen=True)
class PolicyRequest:
    operation: str
    type_id: int
    instance_id: str
    payload: dict[str, Any] = field(default_factory=dict)


def parse_request(raw: bytes) -> PolicyRequest:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise A1MessageError(f"not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise A1MessageError("not a JSON object")
    type_id, instance_id = body.get("policy_type_id"), body.get("policy_instance_id")
    if not isinstance(type_id, int) or isinstance(type_id, bool):
        raise A1MessageError("policy_type_id must be an integer")
    if not isinstance(instance_id, str) or not instance_id:
        raise A1MessageError("policy_instance_id must be a non-empty string", type_id)
    operation = body.get("operation")
    if operation not in OPERATIONS:
        raise A1MessageError(f"operation must be one of {OPERATIONS}", type_id, instance_id)
    payload = body.get("payload") or {}
    if operation != "DELETE" and not isinstance(payload, dict):
        raise A1MessageError("payload must be a JSON object", type_id, instance_id)
    return PolicyRequest(operation, type_id, instance_id, payload if isinstance(payload, dict) else {})


def response(type_id: int, instance_id: str, handler_id: str, status: str) -> bytes:
    return json.dumps({"policy_type_id": type_id, "policy_instance_id": instance_id, "handler_id": handler_id,
                       "status": status}).encode()


def query(type_id: int) -> bytes:
    return json.dumps({"policy_type_id": type_id}).encode()
