"""Audit query route: filters + cursor pagination over the append-only log."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from nextric.errors import ValidationError
from policy.auth import Authenticator
from policy.principal import Principal
from policy.problems import problem_responses
from policy.schemas import AuditPage
from policy.settings import Role
from policy.storage import AuditQuery, Backend

PREFIX = "/audit/v1"


def audit_router(backend: Backend, auth: Authenticator) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["audit"])
    viewer = Depends(auth.require(Role.OPERATOR, Role.VIEWER))

    @router.get(
        "/records",
        response_model=AuditPage,
        summary="Audit records, oldest first, filtered and paged",
        responses=problem_responses(401, 403, 429, 400, 503),
    )
    async def records(
        _: Principal = viewer,
        kind: Annotated[
            str | None,
            Query(
                max_length=64,
                description="verdict, applied, rollback, approval, policy_put, policy_delete, sla_breach",
            ),
        ] = None,
        actor: Annotated[str | None, Query(max_length=256)] = None,
        subject: Annotated[str | None, Query(max_length=512, description="cell id or type/policy id")] = None,
        decision: Annotated[str | None, Query(max_length=64)] = None,
        since: Annotated[datetime | None, Query(description="inclusive, ISO 8601")] = None,
        until: Annotated[datetime | None, Query(description="exclusive, ISO 8601")] = None,
        after: Annotated[
            str | None, Query(max_length=64, description="cursor from the previous page")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        if after is not None and backend.name != "redis" and not (after.isdigit() and len(after) <= 18):
            raise ValidationError("after: not a cursor of this log")
        if after is not None and backend.name == "redis" and not _stream_id(after):
            raise ValidationError("after: not a cursor of this log")
        q = AuditQuery(kind, actor, subject, decision, _epoch(since), _epoch(until), after, limit)
        page, nxt = await asyncio.to_thread(backend.query, q)
        return {
            "items": [
                {
                    "id": r.id,
                    "ts": datetime.fromtimestamp(r.ts, tz=UTC),
                    "kind": r.kind,
                    "actor": r.actor,
                    "roles": list(r.roles),
                    "subject": r.subject,
                    "decision": r.decision,
                    "why": r.why,
                    "data": r.data,
                }
                for r in page
            ],
            "next": nxt,
        }

    return router


def _epoch(value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _stream_id(value: str) -> bool:
    ms, _, seq = value.partition("-")
    return ms.isdigit() and (seq == "" or seq.isdigit()) and len(value) <= 40
