"""Adapter settings from the environment (``NEXTRIC_OSC_*``; the OSC platform sets CONFIG_FILE, HOSTNAME,
PLT_NAMESPACE, DBAAS_SERVICE_HOST/PORT and the RMR variables itself). The policy token is
``NEXTRIC_OSC_POLICY_TOKEN_FILE`` (a file, e.g. a mounted Secret: read once at start, trailing newline dropped) or
``NEXTRIC_OSC_POLICY_TOKEN``, not both (the same rule as nextric's own ``token_file`` settings)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class AdapterSettings:
    handler_id: str  #: the xApp name answered in A1 policy responses
    policy_url: str | None  #: nextric policy service base URL (None: SDL only)
    policy_token: str | None  #: bearer token with the operator role (policy writes)
    type_map: dict[int, str]  #: OSC integer policy type id -> nextric A1 policy type id
    sdl_namespace: str
    rmr_port: int
    timeout_s: float

    @staticmethod
    def from_env(env: Mapping[str, str] | None = None) -> AdapterSettings:
        env = os.environ if env is None else env
        try:
            raw = json.loads(env.get("NEXTRIC_OSC_POLICY_TYPES", "{}"))
            type_map = {int(k): str(v) for k, v in raw.items()}
            rmr_port = int(env.get("NEXTRIC_OSC_RMR_PORT", "4560"))
            timeout_s = float(env.get("NEXTRIC_OSC_TIMEOUT_S", "2.0"))
        except (ValueError, AttributeError) as exc:
            raise SettingsError(f"NEXTRIC_OSC_*: {exc}") from exc
        token = _token(env)
        handler = env.get("NEXTRIC_OSC_HANDLER_ID", "")
        if not handler:
            raise SettingsError("NEXTRIC_OSC_HANDLER_ID (the xApp name) is required")
        return AdapterSettings(handler, env.get("NEXTRIC_OSC_POLICY_URL") or None,
                               token, type_map,
                               env.get("NEXTRIC_OSC_SDL_NAMESPACE", f"a1.{handler}"), rmr_port, timeout_s)


def _token(env: Mapping[str, str]) -> str | None:
    """NEXTRIC_OSC_POLICY_TOKEN, or the content of the file NEXTRIC_OSC_POLICY_TOKEN_FILE names."""
    value, path = env.get("NEXTRIC_OSC_POLICY_TOKEN") or None, env.get("NEXTRIC_OSC_POLICY_TOKEN_FILE") or None
    if path is None:
        return value
    if value is not None:
        raise SettingsError("NEXTRIC_OSC_POLICY_TOKEN and NEXTRIC_OSC_POLICY_TOKEN_FILE are both set: give one")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SettingsError(f"NEXTRIC_OSC_POLICY_TOKEN_FILE {path}: cannot read it ({why})") from None
    token = text.rstrip("\r\n")
    if not token.strip():
        raise SettingsError(f"NEXTRIC_OSC_POLICY_TOKEN_FILE {path}: the file is empty")
    return token
