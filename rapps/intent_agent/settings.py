"""Settings of the intent agent rApp (environment prefix ``NEXTRIC_RAPP_``, nested with ``__``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from nextric.e2.settings import E2ClientSettings, own_requestor_id
from nextric.sdl.factory import SdlSettings
from nextric.settings import HttpSettings, LogSettings, TokenFileMixin, secret_or_file


class Grant(BaseModel):
    """A bearer token of the intent API: ``operator`` writes intents and decides plans, ``viewer`` reads."""

    name: str
    token: SecretStr
    roles: list[Literal["operator", "viewer"]]


class PolicyClientSettings(TokenFileMixin):
    url: str | None = Field(None, description="policy service base URL (A1, guardrail, audit)")
    token: SecretStr | None = Field(None, description="token with the operator and xapp roles; or token_file")
    timeout_s: float = Field(5.0, gt=0)


class LlmSettings(BaseModel):
    """Optional OpenAI-compatible chat endpoint with function calling; unset base_url = grammar compiler only."""

    base_url: str | None = None
    model: str = "local"
    api_key: SecretStr | None = None
    api_key_file: Path | None = Field(None, description="file holding api_key (e.g. a mounted Secret); instead of it")
    timeout_s: float = Field(20.0, gt=0)

    @model_validator(mode="after")
    def _api_key_from_file(self) -> LlmSettings:
        if self.api_key_file is not None:
            self.api_key = secret_or_file(self.api_key, self.api_key_file, "api_key", type(self).__name__)
        return self


class PlannerSettings(BaseModel):
    method: str = Field("improved", description="planner method (rapps.intent_agent.planner.api.METHODS)")
    fallback_method: str = Field("rules", description="used when the world models are unusable")
    regime: str = "hotspot-ID"
    twin_seeds: int = Field(8, ge=2, le=64)
    seed: int = 0


class TwinClientSettings(TokenFileMixin):
    """Where the digital twin service (``nextric.twin.v1``: ``Describe``, ``Rollout``) is reached."""

    target: str = Field(..., description="host:port of the twin service (the testbed process serves it)")
    max_receive_message_bytes: int = Field(16 << 20, ge=1024)
    max_send_message_bytes: int = Field(1 << 20, ge=1024)
    token: SecretStr | None = Field(None, description="bearer token of the twin's gRPC port (role twin); or "
                                    "token_file")
    tls_ca_file: Path | None = Field(None, description="PEM CA of the twin service's certificate: connect over TLS")
    tls_server_name: str | None = Field(None, description="name to verify in the twin service's certificate "
                                        "(override; default: the target's host)")


class IntentAgentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEXTRIC_RAPP_", env_nested_delimiter="__", extra="forbid")

    e2: E2ClientSettings | None = Field(None, description="E2 server of the KPM feed (NEXTRIC_RAPP_E2__TARGET): the "
                                        "testbed, or the E2 termination bridge in front of real gNBs")
    twin: TwinClientSettings | None = Field(None, description="twin service (NEXTRIC_RAPP_TWIN__TARGET); unset: the "
                                            "E2 target, where the testbed serves E2 and the twin on one port")
    network_file: str | None = Field(None, description="without a twin: the network's description (a nextric.twin.v1 "
                                     "TwinDescription in protobuf JSON, as Describe answers)")

    @field_validator("e2")
    @classmethod
    def _own_requestor_id(cls, v: E2ClientSettings | None) -> E2ClientSettings | None:
        return None if v is None else own_requestor_id(v, 2001)  # E2 requestor id of this app unless set

    report_period_ms: int = Field(15_000, ge=1000, description="KPM period the rApp subscribes to (simulated)")
    sdl: SdlSettings = SdlSettings()
    sdl_namespace: str = "rapp.intent_agent"
    plan_key: str = "slice_plan"
    slice_namespace: str = Field("xapp.slice_scheduler", description="SDL namespace of the slice scheduler "
                                 "(its law and cell states: what runs now)")
    steering_namespace: str = Field("xapp.transport_steering", description="SDL namespace of the transport "
                                    "steering (its law, link alarms and shares)")
    audit_path: str = Field("nextric-rapp-audit.db", description="SQLite file of the rApp's append-only audit")
    tokens: list[Grant] = Field(default_factory=list)
    policy: PolicyClientSettings = PolicyClientSettings()
    ce_url: str | None = Field(None, description="CE selector read-only API base URL (compare_estimators)")
    llm: LlmSettings = LlmSettings()
    planner: PlannerSettings = PlannerSettings()
    default_mode: Literal["advisory", "autonomous", "shadow"] = "advisory"
    clock_start: str = Field("18:30", pattern=r"^[0-2][0-9]:[0-5][0-9]$",
                             description="local time of day at simulated t = 0 (time-window contexts)")
    fulfil_reports: int = Field(4, ge=1, description="KPM periods after enactment that decide fulfilment")
    http: HttpSettings = HttpSettings()
    startup_wait_s: float = Field(120.0, gt=0, description="how long a starting rApp waits for the twin service "
                                  "to describe the network (the testbed may start beside it)")
    max_intents_per_tenant: int = Field(200, ge=1, description="intents one tenant (token name) may hold; a POST "
                                        "beyond it gets 409 problem+json")
    ready_check_period_s: float = Field(2.0, gt=0, le=60, description="readiness probes re-check SDL and "
                                        "the policy service at most this often (/ric/v1/health/ready)")
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="largest accepted request body (413 problem+json "
                                "above it, before the body is parsed)")
    log: LogSettings = LogSettings()
