"""Every client token setting has a file alternative (``token_file``, e.g. a mounted Secret or a Compose secret),
implemented once (nextric.settings.TokenFileMixin): read when the settings are built, trailing newline dropped,
clear errors for an unreadable or empty file and for both given at once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError
from pydantic_settings import BaseSettings

from nextric.e2.settings import E2ClientSettings
from nextric.errors import ConfigError
from nextric.settings import TokenFileMixin
from rapps.intent_agent.settings import IntentAgentSettings, LlmSettings, PolicyClientSettings, TwinClientSettings
from xapps.beam_predictor.settings import BeamPredictorSettings
from xapps.ce_selector.settings import CeSelectorSettings
from xapps.slice_scheduler.settings import PolicySettings, SliceSchedulerSettings
from xapps.transport_steering.settings import ControllerSettings, TransportSteeringSettings

#: every model holding a client's bearer token
TOKEN_MODELS: list[type[BaseModel]] = [E2ClientSettings, PolicySettings, ControllerSettings, PolicyClientSettings,
                                       TwinClientSettings]


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text("s3cret-token-value\n")
    return path


@pytest.mark.parametrize("model", TOKEN_MODELS, ids=lambda m: m.__name__)
def test_every_token_model_takes_a_file(model: type[BaseModel], token_file: Path) -> None:
    assert issubclass(model, TokenFileMixin)
    required = {"target": "h:1"} if "target" in model.model_fields else {}
    settings = model.model_validate({**required, "token_file": str(token_file)})
    assert settings.token.get_secret_value() == "s3cret-token-value"  # type: ignore[attr-defined]
    assert model.model_validate({**required, "token": "t"}).token.get_secret_value() == "t"  # type: ignore[attr-defined]
    assert model.model_validate(required).token is None  # type: ignore[attr-defined]


def test_only_the_trailing_newlines_go(tmp_path: Path) -> None:
    for text, want in (("abc", "abc"), ("abc\r\n", "abc"), ("abc\n\n", "abc"), (" a b ", " a b ")):
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
        PolicySettings(token="value-not-to-echo", token_file=token_file)
    assert "value-not-to-echo" not in str(caught.value)


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
            assert getattr(settings, section).token.get_secret_value() == "s3cret-token-value", key
