"""In-process SDL backend: dicts and asyncio queues, for one-machine runs and tests.

Single event loop; values are copied on the way in (bytes are immutable), so callers can't alias state.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import AsyncIterator, Iterable, Mapping

from nextric.sdl.api import check_keys, check_namespace


class _EmbeddedSubscription:
    def __init__(self, owner: EmbeddedSdl, channels: set[tuple[str, str]]) -> None:
        self._owner = owner
        self._channels = channels
        self._queue: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue()

    def deliver(self, channel: str, message: bytes) -> None:
        self._queue.put_nowait((channel, message))

    def __aiter__(self) -> AsyncIterator[tuple[str, bytes]]:
        return self

    async def __anext__(self) -> tuple[str, bytes]:
        item = await self._queue.get()
        if item is None:
            raise StopAsyncIteration
        return item

    async def close(self) -> None:
        self._owner._unsubscribe(self)
        self._queue.put_nowait(None)


class EmbeddedSdl:
    def __init__(self) -> None:
        self._data: dict[str, dict[str, bytes]] = {}
        self._subs: dict[tuple[str, str], list[_EmbeddedSubscription]] = {}

    def _ns(self, ns: str) -> dict[str, bytes]:
        return self._data.setdefault(check_namespace(ns), {})

    async def set(self, ns: str, data: Mapping[str, bytes]) -> None:
        store = self._ns(ns)
        check_keys(data)
        store.update({k: bytes(v) for k, v in data.items()})

    async def set_if(self, ns: str, key: str, old: bytes, new: bytes) -> bool:
        store = self._ns(ns)
        if store.get(key) != old:
            return False
        store[key] = bytes(new)
        return True

    async def set_if_not_exists(self, ns: str, key: str, value: bytes) -> bool:
        store = self._ns(ns)
        check_keys([key])
        if key in store:
            return False
        store[key] = bytes(value)
        return True

    async def get(self, ns: str, keys: Iterable[str]) -> dict[str, bytes]:
        store = self._ns(ns)
        return {k: store[k] for k in check_keys(keys) if k in store}

    async def delete(self, ns: str, keys: Iterable[str]) -> int:
        store = self._ns(ns)
        return sum(store.pop(k, None) is not None for k in check_keys(keys))

    async def delete_if(self, ns: str, key: str, value: bytes) -> bool:
        store = self._ns(ns)
        if store.get(key) != value:
            return False
        del store[key]
        return True

    async def find_keys(self, ns: str, pattern: str = "*") -> list[str]:
        return sorted(k for k in self._ns(ns) if fnmatch.fnmatchcase(k, pattern))

    async def find_and_get(self, ns: str, pattern: str = "*") -> dict[str, bytes]:
        store = self._ns(ns)
        return {k: store[k] for k in await self.find_keys(ns, pattern)}

    async def publish(self, ns: str, channel: str, message: bytes) -> None:
        for sub in list(self._subs.get((check_namespace(ns), channel), ())):
            sub.deliver(channel, bytes(message))

    async def set_and_publish(self, ns: str, data: Mapping[str, bytes], channel: str, message: bytes) -> None:
        await self.set(ns, data)
        await self.publish(ns, channel, message)

    async def subscribe(self, ns: str, channels: Iterable[str]) -> _EmbeddedSubscription:
        keys = {(check_namespace(ns), c) for c in check_keys(channels)}
        sub = _EmbeddedSubscription(self, keys)
        for key in keys:
            self._subs.setdefault(key, []).append(sub)
        return sub

    def _unsubscribe(self, sub: _EmbeddedSubscription) -> None:
        for key in sub._channels:
            subs = self._subs.get(key, [])
            if sub in subs:
                subs.remove(sub)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        for subs in list(self._subs.values()):
            for sub in list(subs):
                await sub.close()
