"""Redis SDL backend (redis-py asyncio). Keys and channels are stored as ``{namespace},name``, the
O-RAN SC SDL layout, so tools that read ricsdl data see the same keys."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from nextric.aio import raise_if_cancelling
from nextric.errors import UnavailableError
from nextric.sdl.api import check_keys, check_namespace

# Compare-and-set / compare-and-delete in one round trip, atomically on the server.
_SET_IF = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0"
_DEL_IF = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end return 0"


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


class _RedisSubscription:
    def __init__(self, pubsub: Any, prefix_len: int) -> None:
        self._pubsub = pubsub
        self._prefix_len = prefix_len

    def __aiter__(self) -> AsyncIterator[tuple[str, bytes]]:
        return self

    async def __anext__(self) -> tuple[str, bytes]:
        while True:
            try:
                msg = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
            except (RedisConnectionError, RedisTimeoutError) as exc:
                raise_if_cancelling()
                raise UnavailableError(f"Redis pub/sub connection lost: {exc}") from exc
            raise_if_cancelling()
            if msg is None:
                continue
            if msg["type"] == "message":
                channel = msg["channel"].decode()
                return channel[self._prefix_len :], bytes(msg["data"])

    async def close(self) -> None:
        await self._pubsub.aclose()


class RedisSdl:
    def __init__(self, url: str, socket_timeout_s: float = 5.0) -> None:
        self._client = aioredis.Redis.from_url(
            url, socket_timeout=socket_timeout_s, socket_connect_timeout=socket_timeout_s, health_check_interval=10
        )

    @staticmethod
    def _k(ns: str, key: str) -> str:
        return f"{{{ns}}},{key}"

    async def _call(self, coro: Any) -> Any:
        """Await one redis-py call: its connection errors become UnavailableError, and a cancel of the calling
        task that redis-py swallowed is raised again (see :mod:`nextric.aio`)."""
        try:
            result = await coro
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise_if_cancelling()
            raise UnavailableError(f"Redis unavailable: {exc}") from exc
        raise_if_cancelling()
        return result

    async def set(self, ns: str, data: Mapping[str, bytes]) -> None:
        check_namespace(ns)
        check_keys(data)
        if data:
            await self._call(self._client.mset({self._k(ns, k): v for k, v in data.items()}))

    async def set_if(self, ns: str, key: str, old: bytes, new: bytes) -> bool:
        check_namespace(ns)
        return bool(await self._call(self._client.eval(_SET_IF, 1, self._k(ns, key), old, new)))

    async def set_if_not_exists(self, ns: str, key: str, value: bytes) -> bool:
        check_namespace(ns)
        check_keys([key])
        return bool(await self._call(self._client.set(self._k(ns, key), value, nx=True)))

    async def get(self, ns: str, keys: Iterable[str]) -> dict[str, bytes]:
        check_namespace(ns)
        wanted = check_keys(keys)
        if not wanted:
            return {}
        values = await self._call(self._client.mget([self._k(ns, k) for k in wanted]))
        return {k: bytes(v) for k, v in zip(wanted, values, strict=True) if v is not None}

    async def delete(self, ns: str, keys: Iterable[str]) -> int:
        check_namespace(ns)
        wanted = check_keys(keys)
        if not wanted:
            return 0
        return int(await self._call(self._client.delete(*[self._k(ns, k) for k in wanted])))

    async def delete_if(self, ns: str, key: str, value: bytes) -> bool:
        check_namespace(ns)
        return bool(await self._call(self._client.eval(_DEL_IF, 1, self._k(ns, key), value)))

    async def find_keys(self, ns: str, pattern: str = "*") -> list[str]:
        check_namespace(ns)
        prefix = self._k(ns, "")
        match = _glob_escape(prefix) + pattern
        keys: list[str] = []
        try:
            async for raw in self._client.scan_iter(match=match, count=1000):
                keys.append(raw.decode()[len(prefix) :])
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise_if_cancelling()
            raise UnavailableError(f"Redis unavailable: {exc}") from exc
        raise_if_cancelling()
        return sorted(keys)

    async def find_and_get(self, ns: str, pattern: str = "*") -> dict[str, bytes]:
        return await self.get(ns, await self.find_keys(ns, pattern))

    async def publish(self, ns: str, channel: str, message: bytes) -> None:
        check_namespace(ns)
        await self._call(self._client.publish(self._k(ns, channel), message))

    async def set_and_publish(self, ns: str, data: Mapping[str, bytes], channel: str, message: bytes) -> None:
        check_namespace(ns)
        check_keys(data)
        for _ in range(3):
            try:
                async with self._client.pipeline(transaction=True) as pipe:
                    if data:
                        pipe.mset({self._k(ns, k): v for k, v in data.items()})
                    pipe.publish(self._k(ns, channel), message)
                    await self._call(pipe.execute())
                return
            except WatchError:
                continue

    async def subscribe(self, ns: str, channels: Iterable[str]) -> _RedisSubscription:
        check_namespace(ns)
        names = [self._k(ns, c) for c in check_keys(channels)]
        pubsub = self._client.pubsub()
        await self._call(pubsub.subscribe(*names))
        pending = set(names)
        while pending:  # wait for the server to confirm every channel, so later publishes arrive
            msg = await self._call(pubsub.get_message(timeout=5.0))
            if msg is None:
                raise UnavailableError("Redis did not confirm the subscription")
            if msg["type"] == "subscribe":
                pending.discard(msg["channel"].decode())
        return _RedisSubscription(pubsub, len(self._k(ns, "")))

    async def ping(self) -> bool:
        try:
            return bool(await self._client.ping())
        except (RedisConnectionError, RedisTimeoutError):
            return False

    async def close(self) -> None:
        await self._client.aclose()
