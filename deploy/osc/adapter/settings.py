"""Adapter settings from the environment (``NEXTRIC_OSC_*``, read by pydantic-settings; the OSC platform sets
CONFIG_FILE, HOSTNAME, PLT_NAMESPACE, DBAAS_SERVICE_HOST/PORT and the RMR variables itself). The policy token is
``NEXTRIC_OSC_POLICY_TOKEN_FILE`` (a file, e.g. a mounted Secret: read once at start, trailing newline dropped) or
``NEXTRIC_OSC_POLICY_TOKEN``, not both (the same rule as nextric's own ``token_file`` settings)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "NEXTRIC_OSC_"


class SettingsError(ValueError):
    pass


class AdapterSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, frozen=True, extra="ignore")

    handler_id: str = Field(min_length=1, description="the xApp name answered in A1 policy responses")
    policy_url: str | None = Field(None, description="nextric policy service base URL (None: SDL only)")
    policy_token: str | None = Field(None, description="bearer token with the operator role (policy writes)")
    policy_token_file: Path | None = Field(None, description="a file holding the token (e.g. a mounted Secret)")
    policy_types: dict[int, str] = Field(default_factory=dict, description="JSON: OSC integer policy type id -> "
                                         "nextric A1 policy type id")
    sdl_namespace: str = Field("", description="default a1.<handler_id>")
    rmr_port: int = Field(4560, ge=1, le=65535)
    timeout_s: float = Field(2.0, gt=0)

    @property
    def type_map(self) -> dict[int, str]:
        return self.policy_types

    @model_validator(mode="before")
    @classmethod
    def _file_token_and_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = {k: v for k, v in data.items() if v not in ("", None)}  # an empty variable counts as unset
        if isinstance(data.get("policy_types"), str):  # from a mapping (the environment source decodes JSON itself)
            try:
                data["policy_types"] = json.loads(data["policy_types"])
            except ValueError as exc:
                raise ValueError(f"{PREFIX}POLICY_TYPES is not JSON: {exc}") from None
        path = data.get("policy_token_file")
        if path is not None:
            if data.get("policy_token") is not None:
                raise ValueError(f"{PREFIX}POLICY_TOKEN and {PREFIX}POLICY_TOKEN_FILE are both set: give one")
            data["policy_token"] = _read_token(Path(path))
        if "sdl_namespace" not in data and data.get("handler_id"):
            data["sdl_namespace"] = f"a1.{data['handler_id']}"
        return data

    @staticmethod
    def from_env(env: Mapping[str, str] | None = None) -> AdapterSettings:
        """The settings from ``env`` (default: the process environment); SettingsError naming the variable."""
        try:
            if env is None:
                return AdapterSettings()  # type: ignore[call-arg]  # handler_id comes from the environment
            values = {k[len(PREFIX):].lower(): v for k, v in env.items() if k.startswith(PREFIX)}
            return AdapterSettings.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"]) or "settings"
            name = f"{PREFIX}{where.upper()}" if first["loc"] else f"{PREFIX}*"
            raise SettingsError(f"{name}: {first['msg']}") from None


def _read_token(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValueError(f"{PREFIX}POLICY_TOKEN_FILE {path}: cannot read it ({why})") from None
    token = text.rstrip("\r\n")
    if not token.strip():
        raise ValueError(f"{PREFIX}POLICY_TOKEN_FILE {path}: the file is empty")
    return token

