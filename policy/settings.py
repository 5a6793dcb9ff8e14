"""Settings of the policy service (env prefix ``NEXTRIC_POLICY_``); no endpoint, port or token in code."""

from __future__ import annotations

import ipaddress
import json
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from nextric.errors import ConfigError


class Role(StrEnum):
    """``operator``: write policies, approve, roll back; ``viewer``: read; ``xapp``: check and report."""

    OPERATOR = "operator"
    VIEWER = "viewer"
    XAPP = "xapp"


class TokenGrant(BaseModel):
    """One bearer token, who holds it and its roles."""

    name: str
    token: SecretStr
    roles: list[Role]


class PolicySettings(BaseSettings):
    """Everything the service needs; ``tokens`` (JSON list of grants) and/or ``tokens_file`` give tokens."""

    model_config = SettingsConfigDict(env_prefix="NEXTRIC_POLICY_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535, description="0 picks a free port (see port_file)")
    port_file: Path | None = Field(default=None, description="written with the bound port once listening")
    backend: Literal["sqlite", "redis", "memory"] = "sqlite"
    sqlite_path: Path = Path("nextric-policy.db")
    redis_url: str | None = None
    redis_prefix: str = "nextric:policy:"
    sdl_backend: Literal["none", "embedded", "redis"] = Field(
        default="none", description="SDL where A1 policy changes are announced to the xApps (none: not announced)")
    sdl_redis_url: str | None = Field(default=None, description="redis://host:port/db of the SDL (redis backend)")
    a1_namespace: str = Field(default="policy.a1", description="SDL namespace of the announcements (channel a1)")
    tokens: list[TokenGrant] = Field(default_factory=list)
    tokens_file: Path | None = Field(default=None, description="JSON list of grants, e.g. a mounted secret")
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    head_timeout_s: float = Field(default=10.0, gt=0, le=300, description="a connection's request head must be "
                                  "complete this long after it began to wait for one, else 408 and close (slowloris)")
    ready_check_period_s: float = Field(default=2.0, gt=0, le=60, description="readiness probes re-check the "
                                        "policy store and the SDL at most this often (and wait this long for them)")
    max_policies: int = Field(default=1000, gt=0, description="beyond this a PUT answers 507")
    requests_per_s: float = Field(default=2000.0, ge=0, description="per-token request rate; 0 disables")
    burst: int = Field(default=4000, gt=0)
    cors_origins: list[str] = Field(default_factory=list, description="empty: CORS off")
    notify_timeout_s: float = Field(default=2.0, gt=0)
    notify_allow_private: bool = Field(
        default=False,
        description="let notificationDestination resolve to loopback/private/internal addresses (never link-local, "
        "unspecified, multicast)",
    )
    notify_allow_cidrs: list[str] = Field(
        default_factory=list, description="networks a notificationDestination may resolve to whatever their kind"
    )
    verdict_cache: int = Field(default=10000, gt=0, description="recent verdicts kept for /applied")
    max_applied_cells: int = Field(
        default=10_000, gt=0, description="cells whose applied PRB quotas the guardrail keeps (oldest evicted)"
    )
    max_applied_parameters: int = Field(
        default=100_000,
        gt=0,
        description="per-UE beams and per-target CE modes the guardrail keeps as applied (oldest evicted)",
    )
    approval_ttl_s: float = Field(default=300.0, gt=0)
    audit_batch_max: int = Field(default=256, gt=0)
    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("notify_allow_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise ValueError(f"notify_allow_cidrs: {exc}") from exc
        return value

    def grants(self) -> list[TokenGrant]:
        """Grants from ``tokens`` plus ``tokens_file``."""
        grants = list(self.tokens)
        if self.tokens_file is not None:
            try:
                raw = json.loads(self.tokens_file.read_text())
            except (OSError, ValueError) as exc:
                raise ConfigError(f"cannot read tokens_file {self.tokens_file}: {exc}") from exc
            grants.extend(TokenGrant.model_validate(item) for item in raw)
        return grants
