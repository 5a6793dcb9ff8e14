"""Choose an SDL backend from settings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from nextric.errors import ConfigError
from nextric.sdl.api import SdlBackend
from nextric.sdl.embedded import EmbeddedSdl
from nextric.sdl.redis_backend import RedisSdl


class SdlSettings(BaseModel):
    backend: Literal["embedded", "redis"] = "embedded"
    redis_url: str | None = Field(None, description="redis://host:port/db, required for the redis backend")
    socket_timeout_s: float = Field(5.0, gt=0)


def open_sdl(settings: SdlSettings) -> SdlBackend:
    if settings.backend == "embedded":
        return EmbeddedSdl()
    if not settings.redis_url:
        raise ConfigError("SDL backend 'redis' needs redis_url (e.g. NEXTRIC_SDL__REDIS_URL=redis://127.0.0.1:6379/0)")
    return RedisSdl(settings.redis_url, settings.socket_timeout_s)
