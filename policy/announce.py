"""Announce A1 policy changes on SDL (namespace ``settings.a1_namespace``, channel ``a1``), the way an A1 mediator
pushes policies to xApps: subscribers reload the policies when told, never on a timer. A failed announcement
is logged; subscribers resynchronise whenever they (re)subscribe."""

from __future__ import annotations

import asyncio
import logging

from nextric.sdl.api import SdlBackend

log = logging.getLogger("policy.announce")
A1_CHANNEL = "a1"


class A1Announcer:
    def __init__(self, sdl: SdlBackend | None, namespace: str) -> None:
        self.sdl = sdl
        self.namespace = namespace
        self.sent = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def changed(self) -> None:
        """Called after every committed change of A1 instances (sync; the publish runs in the background)."""
        if self.sdl is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self.sent += 1
        task = loop.create_task(self._publish(self.sdl, self.sent))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self, sdl: SdlBackend, n: int) -> None:
        try:
            await sdl.publish(self.namespace, A1_CHANNEL, str(n).encode())
        except Exception as exc:
            log.warning("A1 change announcement failed", extra={"error": str(exc)})

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=2.0)
