"""Settings of the E2 termination bridge (environment prefix ``NEXTRIC_E2TERM_``, nested with ``__``)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from nextric.e2.settings import E2ServerSettings
from nextric.settings import HttpSettings, LogSettings


class E2apListenSettings(BaseModel):
    host: str = Field("127.0.0.1", description="address the E2AP listener binds (gNBs connect here)")
    port: int = Field(36421, ge=0, le=65535, description="E2AP port (36421 is the E2 default; 0 = a free port)")
    transport: str = Field("auto", pattern="^(auto|sctp|tcp)$", description="sctp, tcp (length-prefixed framing) "
                           "or auto (SCTP where the kernel has it)")
    max_pdu_bytes: int = Field(1 << 20, ge=1024, description="largest E2AP PDU accepted")
    setup_timeout_s: float = Field(10.0, gt=0, description="an association must complete E2 Setup within this")
    procedure_timeout_s: float = Field(5.0, gt=0, description="wait for a RIC Subscription / Control outcome")


class CellConfig(BaseModel):
    """Radio details of a cell that E2 Setup does not carry (from the gNB's configuration, as a RIC's RNIB has)."""

    cgi: str = Field(..., description="<mcc><mnc>-<36-bit NR cell identity in hex>, e.g. 00101-000000010")
    pci: int = 0
    nr_band: int = 0
    dl_arfcn: int = 0
    bandwidth_mhz: int = 0
    scs_khz: int = 0
    prb_count: int = Field(0, ge=0)
    slices: list[str] = Field(default_factory=list, description='S-NSSAIs, "<sst>" or "<sst>-<sd hex>"')


class E2TermSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEXTRIC_E2TERM_", env_nested_delimiter="__", extra="forbid")

    e2ap: E2apListenSettings = E2apListenSettings()
    e2: E2ServerSettings = Field(E2ServerSettings(), description="the gRPC E2 service the xApps use")
    ric_plmn: str = Field("00101", pattern=r"^\d{5,6}$", description="PLMN of the Global RIC ID (MCC + MNC)")
    ric_id: int = Field(1, ge=0, lt=1 << 20, description="20-bit RIC id of the Global RIC ID")
    ric_requestor_id: int = Field(0, ge=0, le=65535, description="RIC requestor id of the bridge's RIC Control "
                                  "Requests when the xApp's does not fit E2AP (0..65535)")
    time_origin_unix_ms: int = Field(0, description="KPM collection times minus this are the internal sim_time_ms "
                                     "(0: Unix time in ms, which is the emulated gNB's simulated clock)")
    cells: list[CellConfig] = Field(default_factory=list)
    cells_file: Path | None = Field(None, description="JSON list of cells (same fields as cells), read at start")
    http: HttpSettings = HttpSettings()
    log: LogSettings = LogSettings()

    def all_cells(self) -> list[CellConfig]:
        extra = []
        if self.cells_file is not None:
            extra = [CellConfig.model_validate(c) for c in json.loads(self.cells_file.read_text(encoding="utf-8"))]
        return [*self.cells, *extra]
