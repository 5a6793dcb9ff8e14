"""Every client token setting has a file alternative (``token_file``, e.g. a mounted Secret or a Compose secret),
implemented once (nextric.settings.TokenFileMixin): read when the settings are built, trailing newline dropped,
clear errors for an unreadable or empty file and for both given at once; and example or short secrets refused at
start-up, naming the setting (nextric/weak_secrets.py)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_settings import BaseSettings

from nextric.e2.auth import GrpcTokenGrant, load_grants
from nextric.e2.settings import E2ClientSettings
from nextric.errors import ConfigError
from nextric.sdl.factory import SdlSettings
from nextric.settings import TokenFileMixin
from nextric.weak_secrets import EXAMPLE_SECRETS, MIN_SECRET_CHARS, refuse_weak, weakness
from rapps.intent_agent.settings import IntentAgentSettings, LlmSettings, PolicyClientSettings, TwinClientSettings
from xapps.beam_predictor.settings import BeamPredictorSettings
from xapps.ce_selector.settings import CeSelectorSettings
from xapps.slice_scheduler.settings import PolicySettings, SliceSchedulerSettings
from xapps.transport_steering.settings import ControllerSettings, TransportSteeringSettings

ROOT = Path(__file__).resolve().parents[1]
#: every model holding a client's bearer token
TOKEN_MODELS: list[type[BaseModel]] = [E2ClientSettings, PolicySettings, ControllerSettings, PolicyClientSettings,
                                       TwinClientSettings]


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text("s3cret-token-value-0123456789\n")
    return path


@pytest.mark.parametrize("model", TOKEN_MODELS, ids=lambda m: m.__name__)
def test_every_token_model_takes_a_file(model: type[BaseModel], token_file: Path) -> None:
    assert issubclass(model, TokenFileMixin)
    required = {"target": "h:1"} if "target" in model.model_fields else {}
    settings = model.model_validate({**required, "token_file": str(token_file)})
    assert settings.token.get_secret_value() == "s3cret-token-value-0123456789"  # type: ignore[attr-defined]
    strong = "t" * 22
    assert model.model_validate({**required, "token": strong}).token.get_secret_value() == strong  # type: ignore[attr-defined]
    assert model.model_validate(required).token is None  # type: ignore[attr-defined]


def test_only_the_trailing_newlines_go(tmp_path: Path) -> None:
    abc = "abc-0123456789abcdefghij"
    for text, want in ((abc, abc), (f"{abc}\r\n", abc), (f"{abc}\n\n", abc), (f" a b {abc} ", f" a b {abc} ")):
        (tmp_path / "t").write_text(text, newline="")
        assert PolicySettings(token_file=tmp_path / "t").token.get_secret_value() == want  # type: ignore[union-attr]


def test_unreadable_empty_and_both(tmp_path: Path, token_file: Path) -> None:
    with pytest.raises(ValidationError, match=r"token_file .*missing: cannot read it \(No such file"):
        PolicySettings(token_file=tmp_path / "missing")
    with pytest.raises(ValidationError, match=r"token_file .*: cannot read it"):
        PolicySettings(token_file=tmp_path)  # a directory
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ValidationError, match=r"token_file .*empty: the file is empty"):
        PolicySettings(token_file=tmp_path / "empty")
    with pytest.raises(ConfigError, match="PolicySettings: token and token_file are both set") as caught:
        PolicySettings(token="value-not-to-echo-0123456789", token_file=token_file)
    assert "value-not-to-echo" not in str(caught.value)


@pytest.mark.parametrize("model", TOKEN_MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("weak", ["change-me-redis", "<secret>", "op-token", "OP-TOKEN ", "change-me-tokens-for-real",
                                  "x" * (MIN_SECRET_CHARS - 1)])
def test_example_and_short_tokens_are_refused_naming_the_setting(model: type[BaseModel], weak: str,
                                                                 tmp_path: Path) -> None:
    required = {"target": "h:1"} if "target" in model.model_fields else {}
    with pytest.raises(ConfigError, match=rf"{model.__name__}: token: refusing to start") as inline:
        model.model_validate({**required, "token": weak})
    (tmp_path / "t").write_text(weak + "\n")
    with pytest.raises(ConfigError, match=rf"{model.__name__}: token_file {tmp_path / 't'}: refusing") as from_file:
        model.model_validate({**required, "token_file": str(tmp_path / "t")})
    for caught in (inline, from_file):
        assert weak.strip() not in str(caught.value) or len(weak.strip()) < 4  # the secret is never echoed
    assert model.model_validate({**required, "token": "x" * MIN_SECRET_CHARS}).token is not None  # type: ignore[attr-defined]


def test_every_example_secret_of_the_repository_is_refused() -> None:
    """The values .env.example and the docs show are in EXAMPLE_SECRETS, and each is refused."""
    shown = re.findall(r"^NEXTRIC_[A-Z_]*PASSWORD=(\S+)", (ROOT / ".env.example").read_text(), re.M)
    assert shown, "no password in .env.example"
    for value in [*shown, *EXAMPLE_SECRETS]:
        assert weakness(value) is not None, value
        with pytest.raises(ConfigError, match="SETTING_NAME: refusing"):
            refuse_weak(value, "SETTING_NAME")
    assert weakness(secrets.token_urlsafe(16)) is None  # what the tests and the demo generate


def test_redis_password_and_server_tokens_are_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sdl.redis_url \(its password\): refusing"):
        SliceSchedulerSettings(e2=E2ClientSettings(target="h:1"),
                               sdl=SdlSettings(backend="redis", redis_url="redis://:change-me-redis@r:6379/0"))
    assert SliceSchedulerSettings(e2=E2ClientSettings(target="h:1"),
                                  sdl=SdlSettings(backend="redis", redis_url="redis://r:6379/0")).sdl.redis_url
    with pytest.raises(ConfigError, match=r"E2 token of 'slice' \(tokens / tokens_file\): refusing"):
        load_grants([GrpcTokenGrant(name="slice", token=SecretStr("short-token"), roles=["kpm"])], None)


@pytest.mark.parametrize(("module", "env"), [
    ("policy", {"NEXTRIC_POLICY_TOKENS": '[{"name": "noc", "token": "<secret>", "roles": ["operator"]}]',
                "NEXTRIC_POLICY_BACKEND": "memory"}),
    ("policy", {"NEXTRIC_POLICY_TOKENS": f'[{{"name": "noc", "token": "{"n" * 30}", "roles": ["operator"]}}]',
                "NEXTRIC_POLICY_BACKEND": "redis", "NEXTRIC_POLICY_REDIS_URL": "redis://:change-me-redis@127.0.0.1:1/1"}),
    ("rapps.intent_agent", {"NEXTRIC_RAPP_TOKENS": '[{"name": "noc", "token": "op-token", "roles": ["operator"]}]',
                            "NEXTRIC_RAPP_NETWORK_FILE": "/nonexistent"}),
], ids=["policy-token", "policy-redis", "rapp-token"])
def test_processes_refuse_to_start(module: str, env: dict[str, str]) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NEXTRIC_")}
    proc = subprocess.run([sys.executable, "-m", module], env={**clean, **env, "NEXTRIC_POLICY_PORT": "0"},
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 1, proc.stderr
    assert "refusing to start with this secret" in proc.stderr, proc.stderr
    setting = "REDIS_URL" if "REDIS_URL" in str(env) else "TOKENS"
    assert setting in proc.stderr.splitlines()[-1], proc.stderr


def test_llm_api_key_file(tmp_path: Path) -> None:
    (tmp_path / "k").write_text("sk-1\n")
    assert LlmSettings(api_key_file=tmp_path / "k").api_key.get_secret_value() == "sk-1"  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="api_key and api_key_file"):
        LlmSettings(api_key="x", api_key_file=tmp_path / "k")


@pytest.mark.parametrize(("cls", "env"), [
    (SliceSchedulerSettings, {"NEXTRIC_XAPP_SLICE_E2__TARGET": "h:1", "NEXTRIC_XAPP_SLICE_POLICY__TOKEN_FILE": "{f}",
                              "NEXTRIC_XAPP_SLICE_E2__TOKEN_FILE": "{f}"}),
    (TransportSteeringSettings, {"NEXTRIC_XAPP_TRANSPORT_CONTROLLER__TARGET": "h:1",
                                 "NEXTRIC_XAPP_TRANSPORT_CONTROLLER__TOKEN_FILE": "{f}"}),
    (BeamPredictorSettings, {"NEXTRIC_XAPP_BEAM_E2__TARGET": "h:1", "NEXTRIC_XAPP_BEAM_E2__TOKEN_FILE": "{f}"}),
    (CeSelectorSettings, {"NEXTRIC_XAPP_CE_E2__TARGET": "h:1", "NEXTRIC_XAPP_CE_E2__TOKEN_FILE": "{f}"}),
    (IntentAgentSettings, {"NEXTRIC_RAPP_E2__TARGET": "h:1", "NEXTRIC_RAPP_E2__TOKEN_FILE": "{f}",
                           "NEXTRIC_RAPP_TWIN__TARGET": "h:2", "NEXTRIC_RAPP_TWIN__TOKEN_FILE": "{f}",
                           "NEXTRIC_RAPP_POLICY__TOKEN_FILE": "{f}"}),
], ids=lambda v: v.__name__ if isinstance(v, type) else "")
def test_apps_read_token_files_from_the_environment(cls: type[BaseSettings], env: dict[str, str], token_file: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("NEXTRIC_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value.format(f=token_file))
    settings = cls()
    for key in env:
        if key.endswith("TOKEN_FILE"):
            section = key[len(cls.model_config["env_prefix"]):].split("__")[0].lower()
            assert getattr(settings, section).token.get_secret_value() == "s3cret-token-value-0123456789", key
