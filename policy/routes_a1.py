"""A1-P v2 routes (O-RAN A1AP): policy types, instances, status; translation only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from nextric.web import FiniteJsonRoute
from policy.a1 import A1Service
from policy.auth import Authenticator
from policy.principal import Principal
from policy.problems import problem_responses
from policy.settings import Role

PREFIX = "/A1-P/v2"

TypeId = Annotated[str, Path(alias="policyTypeId", min_length=1, max_length=256)]
PolicyId = Annotated[str, Path(alias="policyId", min_length=1, max_length=256)]
_AUTH = (401, 403, 429)


class PolicyTypeObject(BaseModel):
    """A1AP PolicyTypeObject."""

    model_config = ConfigDict(populate_by_name=True)

    policy_schema: dict[str, Any] = Field(alias="policySchema")
    status_schema: dict[str, Any] | None = Field(default=None, alias="statusSchema")


class PolicyStatusObject(BaseModel):
    """A1AP PolicyStatusObject (shape given by the type's statusSchema)."""

    model_config = ConfigDict(extra="allow")

    enforceStatus: str
    enforceReason: str | None = None


def a1_router(a1: A1Service, auth: Authenticator) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["A1-P v2"], route_class=FiniteJsonRoute)
    read = Depends(auth.require(Role.OPERATOR, Role.VIEWER, Role.XAPP))
    write = Depends(auth.require(Role.OPERATOR))

    @router.get(
        "/policytypes",
        response_model=list[str],
        summary="All policy type ids",
        responses=problem_responses(*_AUTH, 503),
    )
    async def policy_types(_: Principal = read) -> list[str]:
        return a1.type_ids()

    @router.get(
        "/policytypes/{policyTypeId}",
        response_model=PolicyTypeObject,
        response_model_by_alias=True,
        summary="A policy type: policySchema and statusSchema",
        responses=problem_responses(*_AUTH, 404, 503),
    )
    async def policy_type(type_id: TypeId, _: Principal = read) -> dict[str, Any]:
        t = a1.policy_type(type_id)
        return {"policySchema": t.policy_schema, "statusSchema": t.status_schema}

    @router.get(
        "/policytypes/{policyTypeId}/policies",
        response_model=list[str],
        summary="Policy ids of one type",
        responses=problem_responses(*_AUTH, 404, 503),
    )
    async def policies(type_id: TypeId, _: Principal = read) -> list[str]:
        return a1.policy_ids(type_id)

    @router.put(
        "/policytypes/{policyTypeId}/policies/{policyId}",
        summary="Create (201 + Location) or update (200) a policy instance",
        response_model=dict[str, Any],
        status_code=200,
        responses={
            201: {"description": "Created", "headers": {"Location": {"schema": {"type": "string"}}}},
            **problem_responses(*_AUTH, 400, 404, 409, 413, 503, 507),
        },
    )
    async def put_policy(
        type_id: TypeId,
        policy_id: PolicyId,
        body: Annotated[dict[str, Any], Body(description="policy object, validated against policySchema")],
        who: Principal = write,
        notification_destination: Annotated[
            str | None,
            Query(
                alias="notificationDestination",
                max_length=2048,
                description="http(s) URI that receives PolicyStatusObject updates (POST); every address its host "
                "resolves to must be public unless the service allows private ones (400 otherwise)",
            ),
        ] = None,
    ) -> JSONResponse:
        created = await a1.put(who, type_id, policy_id, body, notification_destination)
        if created:
            location = f"{PREFIX}/policytypes/{type_id}/policies/{policy_id}"
            return JSONResponse(body, status_code=201, headers={"Location": location})
        return JSONResponse(body, status_code=200)

    @router.get(
        "/policytypes/{policyTypeId}/policies/{policyId}",
        response_model=dict[str, Any],
        summary="A policy instance",
        responses=problem_responses(*_AUTH, 404, 503),
    )
    async def get_policy(type_id: TypeId, policy_id: PolicyId, _: Principal = read) -> dict[str, Any]:
        return a1.get(type_id, policy_id)

    @router.delete(
        "/policytypes/{policyTypeId}/policies/{policyId}",
        status_code=204,
        summary="Delete a policy instance",
        response_class=Response,
        responses=problem_responses(*_AUTH, 404, 503),
    )
    async def delete_policy(type_id: TypeId, policy_id: PolicyId, who: Principal = write) -> Response:
        await a1.delete(who, type_id, policy_id)
        return Response(status_code=204)

    @router.get(
        "/policytypes/{policyTypeId}/policies/{policyId}/status",
        response_model=PolicyStatusObject,
        response_model_exclude_none=True,
        summary="Enforcement status of a policy instance",
        responses=problem_responses(*_AUTH, 404, 503),
    )
    async def policy_status(type_id: TypeId, policy_id: PolicyId, _: Principal = read) -> dict[str, Any]:
        return a1.status(type_id, policy_id)

    return router
