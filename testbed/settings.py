"""Settings of the testbed process (environment prefix ``NEXTRIC_TESTBED_``, nested with ``__``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from nextric.e2.settings import E2ServerSettings
from nextric.settings import HttpSettings, LogSettings


class TestbedSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEXTRIC_TESTBED_", env_nested_delimiter="__", extra="forbid")

    scenario: str = Field("twm_poc", description="bundled scenario name or path to a scenario YAML")
    shocks: str = Field("hotspot-ID", description="hotspot|wave|both|none, -ID or -OOD")
    seed: int = Field(7, description="seed of every random stream of the emulator")
    speedup: float = Field(0.0, ge=0.0, description="x real time; 0 = as fast as possible")
    steps: int | None = Field(None, ge=1, description="fast sub-steps to run, then exit (None = run until stopped)")
    e2: E2ServerSettings = E2ServerSettings()
    http: HttpSettings = HttpSettings()
    log: LogSettings = LogSettings()
