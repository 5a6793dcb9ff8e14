"""Crash test: every audit record acknowledged before ``kill -9`` of the service is there after a restart,
for the SQLite backend and for the Redis backend (Redis itself is killed -9 and restarted too)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from nextric.testing.redis_proc import start_redis
from tests.policy.conftest import Tokens, auth
from tests.policy.service_proc import ServiceProcess, start_service

pytestmark = pytest.mark.slow


def _load(url: str, token: str, acked: list[tuple[str, str]], stop: threading.Event, worker: int) -> None:
    """Post checks until the service dies; remember (verdictId, auditId) of every acknowledged one."""
    with httpx.Client(base_url=url, headers=auth(token), timeout=5.0) as client:
        i = 0
        while not stop.is_set():
            i += 1
            body = {
                "action": {"kind": "beam_switch", "cellId": f"c{worker}", "ueId": f"u{i}", "beamId": i % 64},
                "reason": f"crash-test w{worker} #{i}",
            }
            try:
                r = client.post("/guardrail/v1/check", json=body)
            except httpx.HTTPError:
                return  # service killed
            if r.status_code == 200:
                acked.append((r.json()["verdictId"], r.json()["auditId"]))


def _kill_under_load(svc: ServiceProcess, token: str, min_acked: int = 60) -> list[tuple[str, str]]:
    acked: list[tuple[str, str]] = []
    stop = threading.Event()
    workers = [threading.Thread(target=_load, args=(svc.url, token, acked, stop, w)) for w in range(4)]
    for w in workers:
        w.start()
    deadline = time.monotonic() + 60
    while len(acked) < min_acked and time.monotonic() < deadline:
        time.sleep(0.01)  # polling the acknowledged count against a deadline
    svc.kill9()  # requests are still in flight
    stop.set()
    for w in workers:
        w.join(timeout=30)
    assert len(acked) >= min_acked
    return list(acked)


def _all_verdict_ids(url: str, token: str) -> set[str]:
    ids: set[str] = set()
    after = None
    with httpx.Client(base_url=url, headers=auth(token), timeout=10.0) as client:
        while True:
            params: dict[str, Any] = {"kind": "verdict", "limit": 1000}
            if after:
                params["after"] = after
            page = client.get("/audit/v1/records", params=params).json()
            ids.update(item["data"]["verdictId"] for item in page["items"])
            after = page["next"]
            if after is None:
                return ids


def _crash_and_verify(tmp_path: Path, tokens: Tokens, restart_store: Callable[[], None], **env: str) -> None:
    svc = start_service(tmp_path, tokens.grants(), **env)
    acked = _kill_under_load(svc, tokens.xapp)
    restart_store()
    again = start_service(tmp_path, tokens.grants(), **env)
    try:
        stored = _all_verdict_ids(again.url, tokens.viewer)
    finally:
        again.stop()
    missing = {vid for vid, _ in acked} - stored
    assert not missing, f"{len(missing)} acknowledged audit records lost"


def test_sqlite_audit_survives_kill9(tmp_path: Path, tokens: Tokens) -> None:
    _crash_and_verify(tmp_path, tokens, lambda: None, backend="sqlite", sqlite_path=str(tmp_path / "audit.db"))


def test_redis_audit_survives_kill9_of_service_and_redis(tmp_path: Path, tokens: Tokens) -> None:
    redis = start_redis(tmp_path / "redis")
    holder = {"redis": redis}

    def restart_redis() -> None:
        holder["redis"].kill()  # kill -9 Redis too: only fsynced (acknowledged) writes may survive
        holder["redis"] = start_redis(tmp_path / "redis", port=redis.port)

    try:
        _crash_and_verify(
            tmp_path,
            tokens,
            restart_redis,
            backend="redis",
            redis_url=redis.url,
            redis_prefix=f"crash-{uuid.uuid4().hex}:",
        )
    finally:
        holder["redis"].stop()
