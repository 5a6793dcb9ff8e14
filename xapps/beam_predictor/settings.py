"""Settings of the beam predictor (environment prefix ``NEXTRIC_XAPP_BEAM_``, nested with ``__``; under O-RAN SC also
CONFIG_FILE / XAPP_DESCRIPTOR_PATH and DBAAS_*: :class:`nextric.settings.OscXappSettings`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from nextric.e2.settings import E2ClientSettings, own_requestor_id
from nextric.settings import HttpSettings, LogSettings, OscXappSettings
from xapps.beam_predictor.core import PRIOR_WEIGHT_DB

MODEL_DIR = Path(__file__).resolve().parent / "model"  #: the model for a wide-beam Set B (twm_poc_wide_b)
#: the model for a Set B that is a subset of Set A (twm_poc): set MODEL_DIR to it for such cells
SUBSET_MODEL_DIR = Path(__file__).resolve().parent / "model_subset"
#: the BM-Case2 model (best beam 1-2 report periods ahead, wide Set B), served with PREDICT_AHEAD > 0
AHEAD_MODEL_DIR = Path(__file__).resolve().parent / "model_ahead"


class GuardSettings(BaseModel):
    """The in-process guardrail for beam switches (nextric.guardrail, action kind ``beam_switch``)."""

    min_interval_ms: int = Field(1000, ge=0, description="at most one beam change per UE in this much simulated time")


class BeamPredictorSettings(OscXappSettings):
    model_config = SettingsConfigDict(env_prefix="NEXTRIC_XAPP_BEAM_", env_nested_delimiter="__", extra="forbid")

    e2: E2ClientSettings = Field(..., description="E2 node server (NEXTRIC_XAPP_BEAM_E2__TARGET=host:port)")

    @field_validator("e2")
    @classmethod
    def _own_requestor_id(cls, v: E2ClientSettings) -> E2ClientSettings:
        return own_requestor_id(v, 1002)  # E2 requestor id of this app unless set

    report_period_ms: int = Field(1000, ge=1, le=60_000, description="BEAM report period, simulated ms")
    model_dir: Path = Field(MODEL_DIR, description="folder holding beam.onnx and beam.card.json")
    reload_check_s: float = Field(2.0, gt=0, description="wall-clock period of the check for a new artefact + card")
    top_k: int = Field(3, ge=1, le=64, description="beams kept per prediction (logged, metrics)")
    refine_k: int = Field(0, ge=0, le=32,
                          description="top-K refinement: measure this many Set-A beams per UE after each report "
                                      "(E2 beam_measure control) and serve the best measured; 0 = serve the "
                                      "prediction (no extra measurement)")
    refine_prior_db: float = Field(PRIOR_WEIGHT_DB, ge=0, le=10,
                                   description="dB per nat of the model's log-probability added to a refinement "
                                               "measurement of its top-K (0 = the strongest measured)")
    predict_ahead: int = Field(0, ge=0, le=2,
                               description="BM-Case2: serve the beam predicted this many report periods ahead from "
                                           "each UE's last reports (AHEAD_MODEL_DIR); 0 = the BM-Case1 prediction "
                                           "from the latest report (today)")
    ahead_model_dir: Path = Field(AHEAD_MODEL_DIR, description="folder holding beam_ahead.onnx and its card")
    min_margin: float | None = Field(None, ge=0, le=1,
                                     description="softmax-margin threshold of the low-confidence fallback "
                                                 "(None = the model card's confidence.min_margin)")
    n_antennas: int = Field(16, ge=1, description="ULA elements of every cell's array (not carried by E2 setup)")
    max_batch_reports: int = Field(64, ge=1, description="indications merged into one inference batch at most")
    switch: bool = Field(True, description="send serving-beam switches (false: predict and measure only)")
    inference_threads: int = Field(1, ge=1, le=16)
    @model_validator(mode="after")
    def _ahead_or_refine(self) -> BeamPredictorSettings:
        if self.predict_ahead and self.refine_k:
            raise ValueError("PREDICT_AHEAD and REFINE_K are exclusive: refinement measures beams now, not ahead")
        return self

    node_refresh_s: float = Field(2.0, gt=0, description="wall-clock period of E2 node discovery")
    guard: GuardSettings = GuardSettings()
    http: HttpSettings = HttpSettings()
    log: LogSettings = LogSettings()
