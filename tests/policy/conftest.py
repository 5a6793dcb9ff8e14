"""Fixtures for the policy service: generated tokens, a fake clock, an in-process app + httpx client."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from policy.app import PolicyService, create_app
from policy.destination import StaticResolver
from policy.settings import PolicySettings


@dataclass
class Tokens:
    operator: str
    viewer: str
    xapp: str
    rapp: str  # operator + xapp, as the intent rApp holds

    def grants(self) -> list[dict[str, Any]]:
        return [
            {"name": "alice", "token": self.operator, "roles": ["operator"]},
            {"name": "val", "token": self.viewer, "roles": ["viewer"]},
            {"name": "slice-xapp", "token": self.xapp, "roles": ["xapp"]},
            {"name": "intent-rapp", "token": self.rapp, "roles": ["operator", "xapp"]},
        ]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class FakeClock:
    """Wall clock stand-in the tests move by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def tokens() -> Tokens:
    return Tokens(*(secrets.token_urlsafe(24) for _ in range(4)))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_settings(tmp_path: Path, tokens: Tokens) -> Callable[..., PolicySettings]:
    def make(**overrides: Any) -> PolicySettings:
        values: dict[str, Any] = {"backend": "sqlite", "sqlite_path": tmp_path / "policy.db", "tokens": tokens.grants()}
        values.update(overrides)
        return PolicySettings(**values)

    return make


class Notifications:
    """Captures status notifications through an httpx mock transport."""

    def __init__(self) -> None:
        self.received: list[tuple[str, Any]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        import json

        self.received.append((str(request.url), json.loads(request.content)))
        return httpx.Response(204)


@pytest.fixture
def notifications() -> Notifications:
    return Notifications()


@dataclass
class Running:
    app: FastAPI
    client: httpx.AsyncClient

    @property
    def service(self) -> PolicyService:
        svc = self.app.state.service
        assert isinstance(svc, PolicyService)
        return svc


async def running(app: FastAPI) -> AsyncIterator[Running]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://policy.test") as client:
            yield Running(app, client)


#: where the tests' SMO "lives": a name resolved in process (no DNS) to a documentation address, which the
#: service refuses by default (not public); the fixture allows exactly that network, as a deployment lists its
#: SMO's CIDR in NEXTRIC_POLICY_NOTIFY_ALLOW_CIDRS
SMO_HOST, SMO_ADDRESS, SMO_NETWORK = "smo.example", "192.0.2.10", "192.0.2.0/24"


def smo_resolver() -> StaticResolver:
    return StaticResolver({SMO_HOST: [SMO_ADDRESS]})


@pytest.fixture
async def svc(
    make_settings: Callable[..., PolicySettings], clock: FakeClock, notifications: Notifications
) -> AsyncIterator[Running]:
    notify = httpx.AsyncClient(transport=httpx.MockTransport(notifications.handler))
    app = create_app(
        make_settings(notify_allow_cidrs=[SMO_NETWORK]), clock=clock, notify_client=notify, resolver=smo_resolver()
    )
    async for r in running(app):
        yield r
