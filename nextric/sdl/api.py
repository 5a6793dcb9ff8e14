"""The SDL contract, modelled on the O-RAN SC SDL API (ricsdl): namespaced keys with bytes values,
conditional writes, pattern search, and pub/sub channels per namespace."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Protocol

from nextric.errors import ValidationError

_FORBIDDEN_NS = set("{},*?[]")


def check_namespace(ns: str) -> str:
    if not ns or any(c in _FORBIDDEN_NS for c in ns) or any(c.isspace() for c in ns):
        raise ValidationError(f"SDL namespace {ns!r} must be non-empty, without spaces or any of {{}},*?[]")
    return ns


def check_keys(keys: Iterable[str]) -> list[str]:
    out = list(keys)
    for key in out:
        if not key:
            raise ValidationError("SDL keys must be non-empty strings")
    return out


class SdlSubscription(Protocol):
    """Messages of the subscribed channels, in publish order, as (channel, payload)."""

    def __aiter__(self) -> AsyncIterator[tuple[str, bytes]]: ...

    async def __anext__(self) -> tuple[str, bytes]: ...

    async def close(self) -> None: ...


class SdlBackend(Protocol):
    async def set(self, ns: str, data: Mapping[str, bytes]) -> None:
        """Write every key of ``data`` atomically."""

    async def set_if(self, ns: str, key: str, old: bytes, new: bytes) -> bool:
        """Compare-and-set: write ``new`` only if the current value equals ``old``."""

    async def set_if_not_exists(self, ns: str, key: str, value: bytes) -> bool: ...

    async def get(self, ns: str, keys: Iterable[str]) -> dict[str, bytes]:
        """Values of the keys that exist (missing keys are absent from the result)."""

    async def delete(self, ns: str, keys: Iterable[str]) -> int:
        """Delete keys; returns how many existed."""

    async def delete_if(self, ns: str, key: str, value: bytes) -> bool: ...

    async def find_keys(self, ns: str, pattern: str = "*") -> list[str]:
        """Keys of ``ns`` matching a glob ``pattern`` (``*``, ``?``, ``[...]``), sorted."""

    async def find_and_get(self, ns: str, pattern: str = "*") -> dict[str, bytes]: ...

    async def publish(self, ns: str, channel: str, message: bytes) -> None: ...

    async def set_and_publish(self, ns: str, data: Mapping[str, bytes], channel: str, message: bytes) -> None:
        """Write ``data`` and, in the same transaction, publish ``message`` on ``channel``."""

    async def subscribe(self, ns: str, channels: Iterable[str]) -> SdlSubscription:
        """Subscribe; returns once the subscription is active (later publishes are delivered)."""

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...
