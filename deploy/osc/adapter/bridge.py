"""What one A1 policy request does: forward to the nextric policy service, keep it in SDL, choose the status.

The policy service and SDL are passed in (a ``requests.Session`` and ricxappframe's SDL wrapper), so the same
code runs in the xApp and in the tests against a real policy service and a real Redis.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

import requests

from adapter.a1 import PolicyRequest
from adapter.settings import AdapterSettings

log = logging.getLogger("nextric.osc")


class Sdl(Protocol):
    def set(self, ns: str, key: str, value: Any, usemsgpack: bool = True) -> None: ...
    def delete(self, ns: str, key: str) -> None: ...


def sdl_key(req: PolicyRequest) -> str:
    return f"{req.type_id}/{req.instance_id}"


def apply(req: PolicyRequest, settings: AdapterSettings, http: requests.Session, sdl: Sdl) -> str:
    """Status for the A1 response: OK / DELETED once the policy service (if configured) accepted it and SDL
    holds it; ERROR when the type is unknown here or the policy service refused it (its problem is logged)."""
    nextric_type = settings.type_map.get(req.type_id)
    if nextric_type is None:
        log.warning("A1 policy type %s is not mapped (NEXTRIC_OSC_POLICY_TYPES)", req.type_id)
        return "ERROR"
    if settings.policy_url:
        url = f"{settings.policy_url.rstrip('/')}/A1-P/v2/policytypes/{nextric_type}/policies/{req.instance_id}"
        try:
            if req.operation == "DELETE":
                r = http.delete(url, timeout=settings.timeout_s)
                ok = r.status_code in (200, 202, 204, 404)
            else:
                r = http.put(url, json=req.payload, timeout=settings.timeout_s)
                ok = r.status_code in (200, 201)
        except requests.RequestException as exc:
            log.error("policy service unreachable: %s", exc)
            return "ERROR"
        if not ok:
            log.warning("policy service refused %s %s: %s %s", req.operation, url, r.status_code, r.text[:500])
            return "ERROR"
    if req.operation == "DELETE":
        sdl.delete(settings.sdl_namespace, sdl_key(req))
        return "DELETED"
    sdl.set(settings.sdl_namespace, sdl_key(req), json.dumps(req.payload).encode(), usemsgpack=False)
    return "OK"
