"""Settings of the channel-estimator selector (environment prefix ``NEXTRIC_XAPP_CE_``, nested with ``__``;
under O-RAN SC also CONFIG_FILE / XAPP_DESCRIPTOR_PATH and DBAAS_*: :class:`nextric.settings.OscXappSettings`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import SettingsConfigDict

from nextric.e2.settings import E2ClientSettings, own_requestor_id
from nextric.sdl.factory import SdlSettings
from nextric.settings import HttpSettings, LogSettings, OscXappSettings

MODEL_DIR = Path(__file__).resolve().parent / "model"


class SelectorSettings(BaseModel):
    """The decision rule (see ``xapps.ce_selector.core``)."""

    hysteresis_db: float = Field(1.0, ge=0, description="proxy gain a challenger needs over the current estimator")
    min_z: float = Field(2.0, ge=0, description="paired z-score the gain needs")
    uncertainty_budget_db: float = Field(1.0, gt=0, description="max std error of the neural proxy NMSE, dB")
    latency_budget_us: float = Field(500.0, gt=0, description="max estimator latency per 4-PRB block (one slot)")
    min_reports: int = Field(8, ge=2, description="UE pilot reports of a group per decision window")
    max_window: int = Field(32, ge=2, description="reports kept per group at most (newest)")


class GuardSettings(BaseModel):
    """The in-process guardrail for estimator-mode changes (nextric.guardrail, action kind ``ce_mode``)."""

    min_interval_ms: int = Field(5000, ge=0, description="at most one mode change per group in this simulated time")


class CeSelectorSettings(OscXappSettings):
    model_config = SettingsConfigDict(env_prefix="NEXTRIC_XAPP_CE_", env_nested_delimiter="__", extra="forbid")

    e2: E2ClientSettings = Field(..., description="E2 node server (NEXTRIC_XAPP_CE_E2__TARGET=host:port)")

    @field_validator("e2")
    @classmethod
    def _own_requestor_id(cls, v: E2ClientSettings) -> E2ClientSettings:
        return own_requestor_id(v, 1003)  # E2 requestor id of this app unless set

    report_period_ms: int = Field(1000, ge=1, le=60_000, description="PILOT report period, simulated ms")
    scope: Literal["group", "cell"] = Field("group", description="decide per UE group or per cell (all groups)")
    initial_mode: Literal["LS", "LMMSE", "NEURAL"] = Field(
        "LS", description="mode a group is assumed to run until a report says otherwise")
    model_dir: Path = Field(MODEL_DIR, description="folder holding ce.onnx and ce.card.json")
    control: bool = Field(True, description="send estimator-mode controls (false: score and report only)")
    inference_threads: int = Field(1, ge=1, le=16)
    node_refresh_s: float = Field(2.0, gt=0, description="wall-clock period of E2 node discovery")
    effect_reports: int = Field(3, ge=1, description="reports of a group after a control to see it take effect")
    selector: SelectorSettings = SelectorSettings()
    guard: GuardSettings = GuardSettings()
    sdl: SdlSettings = SdlSettings()
    sdl_namespace: str = "xapp.ce_selector"
    http: HttpSettings = HttpSettings()
    log: LogSettings = LogSettings()
