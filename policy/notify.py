"""A1 policy status notifications: ``POST {notificationDestination}`` with the PolicyStatusObject.

Best effort and off the request path: failures are logged, never raised to the A1 caller. Before each delivery
the destination is checked again (:class:`~policy.destination.DestinationGuard`): a host that now resolves to a
refused address is skipped. Redirects are not followed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import httpx

from nextric.errors import ValidationError
from policy.destination import DestinationGuard

log = logging.getLogger(__name__)


class Notifier(Protocol):
    def notify(self, destination: str, status: dict[str, Any]) -> None:
        """Schedule delivery of ``status`` to ``destination``; must not block."""
        ...

    async def aclose(self) -> None: ...


class HttpNotifier:
    """Delivers over an injected :class:`httpx.AsyncClient` (tests pass one with a mock transport)."""

    def __init__(self, client: httpx.AsyncClient, guard: DestinationGuard | None = None) -> None:
        self._client = client
        self._guard = guard if guard is not None else DestinationGuard()
        self._tasks: set[asyncio.Task[None]] = set()
        self.refused = 0  # deliveries skipped because the destination no longer passed the guard

    def notify(self, destination: str, status: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._send(destination, status))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, destination: str, status: dict[str, Any]) -> None:
        try:
            await self._guard.check(destination)
        except ValidationError as exc:
            self.refused += 1
            log.warning("status notification refused by the SSRF guard", extra={"url": destination, "error": str(exc)})
            return
        try:
            response = await self._client.post(destination, json=status, follow_redirects=False)
            if response.status_code >= 300:
                log.warning(
                    "status notification refused", extra={"url": destination, "code": response.status_code}
                )
        except httpx.HTTPError as exc:
            log.warning("status notification failed", extra={"url": destination, "error": str(exc)})

    async def drain(self) -> None:
        """Wait for notifications in flight (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        await self.drain()
        await self._client.aclose()
