"""Shared data layer: one contract (:class:`~nextric.sdl.api.SdlBackend`), two backends.

- :class:`~nextric.sdl.embedded.EmbeddedSdl`: in-process, the default for one-machine runs and tests;
- :class:`~nextric.sdl.redis_backend.RedisSdl`: Redis, for deployments (the O-RAN SC SDL key layout
  ``{namespace},key``).

``open_sdl(settings)`` picks one. The same contract tests run against both.
"""

from nextric.sdl.api import SdlBackend, SdlSubscription
from nextric.sdl.factory import SdlSettings, open_sdl

__all__ = ["SdlBackend", "SdlSettings", "SdlSubscription", "open_sdl"]
