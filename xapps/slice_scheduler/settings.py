"""Settings of the slice scheduler (environment prefix ``NEXTRIC_XAPP_SLICE_``, nested with ``__``; under O-RAN SC also
CONFIG_FILE / XAPP_DESCRIPTOR_PATH and DBAAS_*: :class:`nextric.settings.OscXappSettings`)."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from nextric.e2.settings import E2ClientSettings, own_requestor_id
from nextric.sdl.factory import SdlSettings
from nextric.settings import HttpSettings, LogSettings, OscXappSettings, TokenFileMixin


class SliceDefault(BaseModel):
    """SLA ceilings used for a slice until an A1 slice SLA policy covers it."""

    sst: int
    sd: str = ""
    loss_ceiling: float = Field(0.25, gt=0, le=1)
    p99_ceiling_ms: float | None = None
    priority: int = 0


def _poc_slices() -> list[SliceDefault]:
    return [
        SliceDefault(sst=1, sd="000001", loss_ceiling=0.25, priority=1),
        SliceDefault(sst=2, sd="000002", loss_ceiling=0.10, p99_ceiling_ms=20.0, priority=100),
        SliceDefault(sst=1, sd="000003", loss_ceiling=0.20, priority=0),
    ]


class AllocatorSettings(BaseModel):
    margin: float = Field(1.15, ge=1.0)
    latency_margin: float = Field(3.0, ge=1.0)
    gain: float = Field(2.0, ge=0.0)
    floor_pct: int = Field(5, ge=0, le=33)
    latency_floor_pct: int = Field(20, ge=0, le=100)
    max_step_pct: int = Field(25, ge=1, le=100)
    max_release_pct: int = Field(5, ge=1, le=100)  # fast attack, slow release
    plan_weight: float = Field(0.5, ge=0.0, le=1.0)
    dedicate_latency: bool = True


class PolicySettings(TokenFileMixin):
    """Where the A1 policies come from (the policy service); unset url = scenario defaults only. They are loaded
    at start and again whenever the policy service announces a change on SDL (``a1_namespace``, channel ``a1``)."""

    url: str | None = Field(None, description="base URL of the policy service, e.g. http://policy:8080")
    token: SecretStr | None = Field(None, description="bearer token with the xapp role; or token_file")
    a1_namespace: str = Field("policy.a1", description="SDL namespace where the policy service announces changes")
    timeout_s: float = Field(2.0, gt=0)


class ShardSettings(BaseModel):
    """Consistent hashing of E2 nodes over the live replicas (membership in SDL)."""

    instance_id: str = Field("", description="replica id (default: host name + pid)")
    heartbeat_s: float = Field(1.0, gt=0)
    member_ttl_s: float = Field(5.0, gt=0, description="a replica silent this long is out of the ring")
    vnodes: int = Field(64, ge=1)


class SliceSchedulerSettings(OscXappSettings):
    model_config = SettingsConfigDict(env_prefix="NEXTRIC_XAPP_SLICE_", env_nested_delimiter="__", extra="forbid")

    e2: E2ClientSettings = Field(..., description="E2 node server (NEXTRIC_XAPP_SLICE_E2__TARGET=host:port)")

    @field_validator("e2")
    @classmethod
    def _own_requestor_id(cls, v: E2ClientSettings) -> E2ClientSettings:
        return own_requestor_id(v, 1001)  # E2 requestor id of this app unless set

    control_period_ms: int = Field(1000, ge=100, le=10_000, description="KPM report = control period, simulated")
    sdl: SdlSettings = SdlSettings()
    sdl_namespace: str = "xapp.slice_scheduler"
    plan_namespace: str = Field("rapp.intent_agent", description="SDL namespace of the rApp's plan (announced on "
                                "its channel slice_plan)")
    plan_key: str = "slice_plan"
    policy: PolicySettings = PolicySettings()
    shard: ShardSettings = ShardSettings()
    allocator: AllocatorSettings = AllocatorSettings()
    slices: list[SliceDefault] = Field(default_factory=_poc_slices)
    effect_reports: int = Field(3, ge=1, description="KPM reports after a control to see it take effect")
    effect_tolerance_pct: float = Field(10.0, ge=0, description="slack on the PRB-usage effect check, percent")
    node_refresh_s: float = Field(2.0, gt=0, description="wall-clock period of node discovery and rebalancing")
    http: HttpSettings = HttpSettings()
    log: LogSettings = LogSettings()
