"""Settings of the transport steering xApp (environment prefix ``NEXTRIC_XAPP_TRANSPORT_``, nested with ``__``;
under O-RAN SC also CONFIG_FILE / XAPP_DESCRIPTOR_PATH and DBAAS_*: :class:`nextric.settings.OscXappSettings`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from nextric.sdl.factory import SdlSettings
from nextric.settings import HttpSettings, LogSettings, OscXappSettings, TokenFileMixin


class SliceSlaDefault(BaseModel):
    """A slice's SLA ceilings as the steering ranks slices (delay ceiling first, then the tighter loss ceiling)."""

    sst: int = Field(..., ge=0, le=255)
    sd: str = ""
    loss_ceiling: float = Field(0.25, gt=0, le=1)
    p99_ceiling_ms: float | None = Field(None, gt=0)

    @property
    def key(self) -> str:
        return f"{self.sst}-{self.sd.lower()}" if self.sd else str(self.sst)


def _poc_slices() -> list[SliceSlaDefault]:
    return [SliceSlaDefault(sst=1, sd="000001", loss_ceiling=0.25),
            SliceSlaDefault(sst=2, sd="000002", loss_ceiling=0.10, p99_ceiling_ms=20.0),
            SliceSlaDefault(sst=1, sd="000003", loss_ceiling=0.20)]


class ControllerSettings(TokenFileMixin):
    """The transport controller (SDN northbound: the testbed's ``nextric.transport.v1`` service)."""

    target: str = Field(..., description="host:port of the transport controller")
    rpc_timeout_s: float = Field(5.0, gt=0)
    backoff_initial_s: float = Field(0.05, gt=0, description="wall-clock back-off before re-watching a lost stream")
    backoff_max_s: float = Field(1.0, gt=0, description="longest back-off: a restarted controller is watched again "
                                 "within about 1 s of being up")
    token: SecretStr | None = Field(None, description="bearer token of the testbed's gRPC port (role transport); "
                                    "or token_file")
    tls_ca_file: Path | None = Field(None, description="PEM CA of the controller's certificate: connect over TLS")
    tls_server_name: str | None = Field(None, description="name to verify in the controller's certificate "
                                        "(override; default: the target's host)")


class LawSettings(BaseModel):
    """Parameters of :mod:`nextric.control.transport` (the same law the rApp's twin rolls out)."""

    latency_margin: float = Field(2.5, ge=1.0, description="share asked per unit of offered load, delay slices")
    loss_margin: float = Field(1.3, ge=1.0, description="the same for the other slices")
    floor: float = Field(0.02, ge=0, le=0.3)
    max_step: float = Field(0.3, gt=0, le=1)
    plan_weight: float = Field(0.5, ge=0, le=1)


class TransportSteeringSettings(OscXappSettings):
    model_config = SettingsConfigDict(env_prefix="NEXTRIC_XAPP_TRANSPORT_", env_nested_delimiter="__",
                                      extra="forbid")

    controller: ControllerSettings = Field(..., description="NEXTRIC_XAPP_TRANSPORT_CONTROLLER__TARGET=host:port")
    period_ms: int = Field(5000, ge=100, le=60_000, description="decision period = telemetry window, simulated ms")
    law: LawSettings = LawSettings()
    slices: list[SliceSlaDefault] = Field(default_factory=_poc_slices)
    sdl: SdlSettings = SdlSettings()
    sdl_namespace: str = "xapp.transport_steering"
    plan_namespace: str = Field("rapp.intent_agent", description="SDL namespace of the rApp's plan")
    plan_key: str = "slice_plan"
    http: HttpSettings = HttpSettings()
    log: LogSettings = LogSettings()
