"""Pick the backend named in the settings."""

from __future__ import annotations

from nextric.errors import ConfigError
from policy.settings import PolicySettings
from policy.storage.base import Backend
from policy.storage.memory import MemoryBackend
from policy.storage.sqlite import SqliteBackend


def open_backend(settings: PolicySettings) -> Backend:
    """SQLite (default), Redis (needs ``redis_url``) or memory."""
    if settings.backend == "sqlite":
        return SqliteBackend(settings.sqlite_path)
    if settings.backend == "redis":
        if not settings.redis_url:
            raise ConfigError("NEXTRIC_POLICY_REDIS_URL is required with backend=redis")
        from policy.storage.redis import RedisBackend

        return RedisBackend(settings.redis_url, settings.redis_prefix)
    return MemoryBackend()
