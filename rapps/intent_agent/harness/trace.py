"""The trace of one decision: every tool call with inputs, outputs, duration, versions and data cards used."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class ToolCall:
    tool: str
    inputs: dict[str, Any]
    outputs: dict[str, Any] | None
    ok: bool
    duration_ms: float
    started_unix: float
    versions: dict[str, str] = field(default_factory=dict)  #: model / simulator / service versions
    cards: list[str] = field(default_factory=list)  #: data / model cards relied on
    error: str | None = None


@dataclass
class Trace:
    subject: str  #: e.g. intent id
    calls: list[ToolCall] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)  #: which evidence decided: world models, twin, guardrail

    def add(self, call: ToolCall) -> None:
        self.calls.append(call)

    def to_json(self) -> dict[str, Any]:
        return {"subject": self.subject, "evidence": list(self.evidence), "calls": [asdict(c) for c in self.calls],
                "digest": self.digest()}

    def digest(self) -> str:
        body = json.dumps([asdict(c) | {"duration_ms": 0, "started_unix": 0} for c in self.calls], sort_keys=True,
                          default=str)
        return hashlib.sha256(body.encode()).hexdigest()[:16]


def now() -> float:
    return time.time()
