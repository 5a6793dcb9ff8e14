"""Runtime settings shared by every process (pydantic-settings: environment first, defaults embedded).

Each app defines its own settings class (``<app>/settings.py``) that embeds these pieces under its own
environment prefix, e.g. ``NEXTRIC_TESTBED_E2__PORT=36421`` or ``NEXTRIC_XAPP_SDL__BACKEND=redis``. The xApps'
classes derive from :class:`OscXappSettings`, so that they also start from the O-RAN SC platform's environment.
Nothing here is read at import time: a process builds its settings once in ``main`` and passes them down.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from nextric.errors import ConfigError
from nextric.weak_secrets import refuse_weak, refuse_weak_url_password


class HttpSettings(BaseModel):
    """Where a process serves HTTP (health probes, metrics, and its API if it has one)."""

    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535, description="0 = a free port chosen by the kernel")
    head_timeout_s: float = Field(10.0, gt=0, le=300, description="a connection's request head (request line and "
                                  "headers) must be complete this long after it began to wait for one, else 408 and "
                                  "close (slowloris)")


# --- secrets from files -----------------------------------------------------------------------------------------
# A secret (a bearer token, an API key) can be given as its value or as a file holding it, e.g. a Kubernetes Secret
# mounted as a volume or a Compose secret (/run/secrets/<name>), so that it is in no environment variable.


def read_secret_file(path: Path, setting: str) -> SecretStr:
    """The secret held by the file ``path`` (for the setting named ``setting``), read once: its text without the
    trailing newline(s). ValueError, naming the setting and the file, when it cannot be read or holds nothing."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValueError(f"{setting} {path}: cannot read it ({why})") from None
    value = text.rstrip("\r\n")
    if not value.strip():
        raise ValueError(f"{setting} {path}: the file is empty")
    return SecretStr(value)


def secret_or_file(value: SecretStr | None, path: Path | None, setting: str, owner: str = "") -> SecretStr | None:
    """``value``, or the secret read from ``path`` (see :func:`read_secret_file`). Both set: ConfigError (not a
    ValueError, which pydantic would report with the input, the secret included), naming ``owner`` (the model)."""
    if path is None:
        return value
    if value is not None:
        where = f"{owner}: " if owner else ""
        raise ConfigError(f"{where}{setting} and {setting}_file are both set: give the secret one way only")
    return read_secret_file(path, f"{setting}_file")


class TokenFileMixin(BaseModel):
    """A client's bearer token, given as ``token`` or as ``token_file`` (a file holding it, e.g. a mounted Secret):
    the file is read once, when the settings are built, into ``token``, which is all the code reads. Both at once,
    an unreadable file or an empty one stop the build with the setting's name and the path; so does a token that is
    an example value or too short (nextric/weak_secrets.py)."""

    token: SecretStr | None = Field(None, description="bearer token sent with every call")
    token_file: Path | None = Field(None, description="file holding the bearer token (trailing newline ignored), "
                                    "e.g. a mounted Secret; instead of token")

    @model_validator(mode="after")
    def _token_from_file(self) -> Self:
        if self.token_file is not None:
            self.token = secret_or_file(self.token, self.token_file, "token", type(self).__name__)
        where = f"token_file {self.token_file}" if self.token_file is not None else "token"
        refuse_weak(self.token, f"{type(self).__name__}: {where}")
        return self


class LogSettings(BaseModel):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_lines: bool = True


# --- the O-RAN SC platform's environment ------------------------------------------------------------------------
# Installed by the O-RAN SC App Manager (the onboarder's standard xApp chart), an xApp gets the descriptor mounted as
# ``config-file.json`` in XAPP_DESCRIPTOR_PATH, the descriptor's ``appenv`` entries, the RMR variables and the
# platform's Redis (DBAAS_SERVICE_HOST / DBAAS_SERVICE_PORT, from the ``dbaas-appconfig`` ConfigMap). The xApps'
# settings classes derive from :class:`OscXappSettings`, which reads that environment below their own variables.

CONFIG_FILE_ENV = "CONFIG_FILE"  #: path of the xApp descriptor (config-file.json), as ricxappframe reads it
DESCRIPTOR_PATH_ENV = "XAPP_DESCRIPTOR_PATH"  #: the folder the standard chart mounts the descriptor in
DBAAS_HOST_ENV = "DBAAS_SERVICE_HOST"
DBAAS_PORT_ENV = "DBAAS_SERVICE_PORT"
DBAAS_DEFAULT_PORT = 6379


def descriptor_file(environ: Mapping[str, str]) -> Path | None:
    """The xApp descriptor the platform gives this process: CONFIG_FILE, else ``config-file.json`` in
    XAPP_DESCRIPTOR_PATH (a file path there is taken as is); None when neither is set."""
    explicit = environ.get(CONFIG_FILE_ENV, "").strip()
    if explicit:
        return Path(explicit)
    folder = environ.get(DESCRIPTOR_PATH_ENV, "").strip()
    if folder:
        path = Path(folder)
        return path if path.suffix == ".json" else path / "config-file.json"
    return None


def descriptor_controls(path: Path) -> dict[str, Any]:
    """The ``controls`` object of the descriptor at ``path`` ({} when it has none); ConfigError when the file is
    missing or is no descriptor."""
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"xApp descriptor not found: {path} (from ${CONFIG_FILE_ENV} or ${DESCRIPTOR_PATH_ENV})") \
            from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"xApp descriptor {path} is not readable JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"xApp descriptor {path}: a JSON {type(doc).__name__}, not an object")
    controls = doc.get("controls", {})
    if not isinstance(controls, dict):
        raise ConfigError(f"xApp descriptor {path}: 'controls' is a JSON {type(controls).__name__}, not an object")
    return controls


def dbaas_redis_url(environ: Mapping[str, str]) -> str | None:
    """``redis://host:port/0`` of the platform's Redis (DBAAS_SERVICE_HOST, DBAAS_SERVICE_PORT defaulting to 6379);
    None when DBAAS_SERVICE_HOST is unset. ConfigError on a port that is no TCP port number."""
    host = environ.get(DBAAS_HOST_ENV, "").strip()
    if not host:
        return None
    raw = environ.get(DBAAS_PORT_ENV, "").strip() or str(DBAAS_DEFAULT_PORT)
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ConfigError(f"{DBAAS_PORT_ENV}={raw!r} is no TCP port number (1-65535)")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return f"redis://{host}:{int(raw)}/0"


def osc_settings(settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> dict[str, Any]:
    """What the O-RAN SC environment sets for ``settings_cls``: the descriptor's ``controls`` (each must be one of
    its settings) and, for an app with an ``sdl`` setting, the redis SDL backend on the DBAAS address."""
    values: dict[str, Any] = {}
    path = descriptor_file(environ)
    if path is not None:
        controls = descriptor_controls(path)
        unknown = sorted(set(controls) - set(settings_cls.model_fields))
        if unknown:
            raise ConfigError(f"xApp descriptor {path}: controls {unknown} are no settings of {settings_cls.__name__}")
        values.update(controls)
    url = dbaas_redis_url(environ)
    if url is not None and "sdl" in settings_cls.model_fields:
        sdl = values.get("sdl")
        values["sdl"] = {**(sdl if isinstance(sdl, dict) else {}), "backend": "redis", "redis_url": url}
    return values


class OscEnvironmentSource(PydanticBaseSettingsSource):
    """A settings source of lower priority than the app's own environment variables: the O-RAN SC platform's
    environment (see :func:`osc_settings`), read from the process environment when the settings are built."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str] | None = None) -> None:
        super().__init__(settings_cls)
        self._environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self().get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return osc_settings(self.settings_cls, os.environ if self._environ is None else self._environ)


class OscXappSettings(BaseSettings):
    """Base of an xApp's settings. Priority, highest first: arguments, the app's own variables (its prefix), the O-RAN
    SC environment (DBAAS_* for SDL; the descriptor's ``controls`` from CONFIG_FILE / XAPP_DESCRIPTOR_PATH), the
    defaults in code. So an explicit ``..._SDL__BACKEND`` / ``..._SDL__REDIS_URL`` wins over DBAAS_*, and the
    descriptor's controls are defaults that the environment overrides. The RMR variables (RMR_SEED_RT, RMR_SRC_ID,
    RMR_RTG_SVC ...) are not read: nextric's xApps speak E2 over gRPC (``E2__TARGET``), not through RMR."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, dotenv_settings, file_secret_settings, OscEnvironmentSource(settings_cls)

    @model_validator(mode="after")
    def _no_weak_redis_password(self) -> Self:
        sdl = getattr(self, "sdl", None)
        refuse_weak_url_password(getattr(sdl, "redis_url", None), f"{type(self).__name__}: sdl.redis_url")
        return self
