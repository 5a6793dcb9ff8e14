"""One SDL contract, run against the embedded backend and a real redis-server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from nextric.errors import ConfigError, UnavailableError, ValidationError
from nextric.sdl import SdlBackend, SdlSettings, open_sdl
from nextric.testing.redis_proc import RedisProcess, start_redis


@pytest.fixture(params=["embedded", "redis"])
async def sdl(request: pytest.FixtureRequest) -> AsyncIterator[SdlBackend]:
    if request.param == "embedded":
        backend = open_sdl(SdlSettings())
    else:
        server: RedisProcess = request.getfixturevalue("redis_server")
        backend = open_sdl(SdlSettings(backend="redis", redis_url=server.url))
    try:
        yield backend
    finally:
        await backend.close()


@pytest.fixture
def ns() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


async def test_set_get_delete(sdl: SdlBackend, ns: str) -> None:
    await sdl.set(ns, {"a": b"1", "b": b"\x00\xff"})
    assert await sdl.get(ns, ["a", "b", "missing"]) == {"a": b"1", "b": b"\x00\xff"}
    assert await sdl.delete(ns, ["a", "missing"]) == 1
    assert await sdl.get(ns, ["a"]) == {}
    assert await sdl.get(ns, []) == {}


async def test_namespaces_are_isolated(sdl: SdlBackend, ns: str) -> None:
    other = ns + "-other"
    await sdl.set(ns, {"k": b"mine"})
    await sdl.set(other, {"k": b"theirs"})
    assert await sdl.get(ns, ["k"]) == {"k": b"mine"}
    assert await sdl.find_keys(other) == ["k"]


async def test_conditional_writes(sdl: SdlBackend, ns: str) -> None:
    assert await sdl.set_if_not_exists(ns, "lock", b"owner-1")
    assert not await sdl.set_if_not_exists(ns, "lock", b"owner-2")
    assert not await sdl.set_if(ns, "lock", b"owner-2", b"x")
    assert await sdl.set_if(ns, "lock", b"owner-1", b"owner-3")
    assert await sdl.get(ns, ["lock"]) == {"lock": b"owner-3"}
    assert not await sdl.delete_if(ns, "lock", b"owner-1")
    assert await sdl.delete_if(ns, "lock", b"owner-3")
    assert await sdl.get(ns, ["lock"]) == {}
    assert not await sdl.set_if(ns, "absent", b"", b"x")


async def test_find_keys_with_glob_patterns(sdl: SdlBackend, ns: str) -> None:
    await sdl.set(ns, {"cell:1": b"a", "cell:2": b"b", "cell:10": b"c", "ue:1": b"d", "star*key": b"e"})
    assert await sdl.find_keys(ns, "cell:*") == ["cell:1", "cell:10", "cell:2"]
    assert await sdl.find_keys(ns, "cell:?") == ["cell:1", "cell:2"]
    assert await sdl.find_and_get(ns, "ue:*") == {"ue:1": b"d"}
    assert len(await sdl.find_keys(ns)) == 5


async def test_pubsub_delivers_in_order_after_subscribe(sdl: SdlBackend, ns: str) -> None:
    sub = await sdl.subscribe(ns, ["events", "other"])
    await sdl.publish(ns, "events", b"one")
    await sdl.set_and_publish(ns, {"state": b"v2"}, "other", b"two")
    await sdl.publish(ns + "x", "events", b"not for us")
    got = [await asyncio.wait_for(anext(sub), 5.0) for _ in range(2)]
    assert got == [("events", b"one"), ("other", b"two")]
    assert await sdl.get(ns, ["state"]) == {"state": b"v2"}
    await sub.close()


@pytest.mark.parametrize("bad", ["", "a,b", "{x}", "has space", "x*"])
async def test_bad_namespace_is_rejected(sdl: SdlBackend, bad: str) -> None:
    with pytest.raises(ValidationError):
        await sdl.set(bad, {"k": b"v"})


async def test_empty_key_is_rejected(sdl: SdlBackend, ns: str) -> None:
    with pytest.raises(ValidationError):
        await sdl.set(ns, {"": b"v"})


async def test_ping(sdl: SdlBackend) -> None:
    assert await sdl.ping()


def test_redis_backend_needs_url() -> None:
    with pytest.raises(ConfigError):
        open_sdl(SdlSettings(backend="redis"))


async def test_redis_down_is_unavailable_and_recovers(tmp_path: object) -> None:
    from pathlib import Path

    server = start_redis(Path(str(tmp_path)))
    sdl = open_sdl(SdlSettings(backend="redis", redis_url=server.url, socket_timeout_s=1.0))
    try:
        await sdl.set("ns", {"k": b"v"})
        server.kill()
        with pytest.raises(UnavailableError):
            await sdl.get("ns", ["k"])
        assert not await sdl.ping()
        restarted = start_redis(server.workdir, port=server.port)  # AOF with fsync always: the write survived
        try:
            assert await sdl.get("ns", ["k"]) == {"k": b"v"}
        finally:
            restarted.stop()
    finally:
        await sdl.close()
        server.stop()


async def test_cancel_of_a_task_using_the_sdl_is_never_lost(sdl: SdlBackend, ns: str) -> None:
    """A task cancelled while it reads or writes ends cancelled, whenever the cancel lands (redis-py alone
    swallows some that race a command's completion: redis/redis-py#2028)."""
    await sdl.set(ns, {"a": b"1"})

    async def loop() -> None:
        while True:
            await sdl.get(ns, ["a", "b"])
            await sdl.set(ns, {"b": b"2"})
            await asyncio.sleep(0)  # the embedded backend never suspends: this is the app's own I/O

    for i in range(300):
        task = asyncio.create_task(loop())
        await asyncio.sleep(i % 20 * 0.00005)  # cancel at many points of a command's life
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=2.0)
        assert done, f"loop {i} ignored its cancel"
        assert task.cancelled()
