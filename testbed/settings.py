"""Settings of the testbed process (environment prefix ``NEXTRIC_TESTBED_``, nested with ``__``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from nextric.e2.settings import E2ServerSettings
from nextric.settings import HttpSettings, LogSettings
from testbed.twin_service import TwinLimits

CE_MODEL_DIR = Path(__file__).resolve().parents[1] / "xapps" / "ce_selector" / "model"  #: a data file, not an import


class TestbedSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEXTRIC_TESTBED_", env_nested_delimiter="__", extra="forbid")

    scenario: str = Field("twm_poc", description="bundled scenario name or path to a scenario YAML")
    shocks: str = Field("hotspot-ID", description="hotspot|wave|both|none, -ID or -OOD")
    seed: int = Field(7, description="seed of every random stream of the emulator")
    speedup: float = Field(0.0, ge=0.0, description="x real time; 0 = as fast as possible")
    steps: int | None = Field(None, ge=1, description="fast sub-steps to run, then exit (None = run until stopped)")
    estimator_mode: Literal["LS", "LMMSE", "NEURAL"] = Field("LMMSE", description="every cell's estimator at start")
    ce_model_dir: Path | None = Field(CE_MODEL_DIR, description="folder with ce.onnx + ce.card.json, the PHY's NEURAL "
                                      "estimator (None or unloadable: NEURAL runs LMMSE)")
    e2ap: str | None = Field(None, description="HOST:PORT of a RIC's E2 termination: every node also connects there "
                             "as an E2AP E2 node, as an srsRAN gNB would (testbed/e2ap_agent.py)")
    e2ap_transport: Literal["auto", "sctp", "tcp"] = Field("auto", description="sctp, tcp (length-prefixed framing) "
                                                          "or auto (SCTP where the kernel has it)")
    e2: E2ServerSettings = E2ServerSettings()
    twin: TwinLimits = TwinLimits()
    http: HttpSettings = HttpSettings()
    log: LogSettings = LogSettings()
