"""Readiness bookkeeping shared by the HTTP probes and the gRPC health service.

O-RAN SC probes an xApp at ``/ric/v1/health/alive`` (the process answers) and ``/ric/v1/health/ready``
(every dependency the app needs is up). Components report their state here; adapters expose it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

ALIVE_PATH = "/ric/v1/health/alive"
READY_PATH = "/ric/v1/health/ready"

Listener = Callable[[bool], None]
Refresher = Callable[[], Awaitable[None]]


@dataclass
class Health:
    """Per-component readiness; the app is ready when every registered component is ready."""

    _components: dict[str, tuple[bool, str]] = field(default_factory=dict)
    _listeners: list[Listener] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _refresher: Refresher | None = None
    _refresh_every_s: float = 0.0
    _refreshed_at: float = float("-inf")

    def check_on_probe(self, refresher: Refresher, min_interval_s: float) -> None:
        """Run ``refresher`` (which re-checks dependencies and calls :meth:`set`) before a readiness report, at most
        once per ``min_interval_s``: readiness follows the dependencies without a background task, and a probe
        storm cannot hammer them."""
        self._refresher, self._refresh_every_s = refresher, min_interval_s

    async def refresh(self) -> None:
        if self._refresher is None or time.monotonic() - self._refreshed_at < self._refresh_every_s:
            return
        self._refreshed_at = time.monotonic()
        await self._refresher()

    def register(self, component: str, ready: bool = False, detail: str = "starting") -> None:
        self.set(component, ready, detail)

    def set(self, component: str, ready: bool, detail: str = "") -> None:
        with self._lock:
            before = self._ready_locked()
            self._components[component] = (ready, detail)
            after = self._ready_locked()
            listeners = list(self._listeners) if before != after else []
        for listener in listeners:
            listener(after)

    def on_change(self, listener: Listener) -> None:
        """Call ``listener(ready)`` whenever overall readiness flips (used to mirror into gRPC health)."""
        with self._lock:
            self._listeners.append(listener)

    def _ready_locked(self) -> bool:
        return all(ok for ok, _ in self._components.values())

    def is_ready(self, component: str) -> bool | None:
        """The component's readiness (None: not registered)."""
        with self._lock:
            state = self._components.get(component)
        return None if state is None else state[0]

    @property
    def ready(self) -> bool:
        with self._lock:
            return self._ready_locked()

    def report(self) -> dict[str, object]:
        with self._lock:
            return {
                "ready": self._ready_locked(),
                "components": {
                    name: {"ready": ok, "detail": detail} for name, (ok, detail) in self._components.items()
                },
            }
