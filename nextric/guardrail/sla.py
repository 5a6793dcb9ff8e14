"""Slice SLA targets (after ORAN_SliceSLATarget) and the KPI samples judged against them.

Units: packet delay in ms, packet loss as a ratio in 0..1, throughput in kbit/s (3GPP TS 28.552 style).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nextric.guardrail.model import SNssai
from nextric.guardrail.policy import snssai_from_a1


@dataclass(frozen=True, slots=True)
class KpiSample:
    """One slice's KPIs in one cell over one reporting period (``None``: not measured)."""

    cell_id: str
    member: SNssai
    delay_ms: float | None = None
    loss_rate: float | None = None
    throughput_kbps: float | None = None


@dataclass(frozen=True, slots=True)
class SliceSla:
    """SLA objectives of one slice, optionally limited to some cells (``cells=None``: everywhere)."""

    member: SNssai
    cells: frozenset[str] | None = None
    max_delay_ms: float | None = None
    max_loss_rate: float | None = None
    gua_throughput_kbps: float | None = None
    max_throughput_kbps: float | None = None
    priority: int | None = None
    policy_id: str = ""

    def applies(self, cell_id: str, member: SNssai) -> bool:
        same_slice = member == self.member or (self.member.sd is None and member.sst == self.member.sst)
        return same_slice and (self.cells is None or cell_id in self.cells)

    def violations(self, sample: KpiSample) -> tuple[str, ...]:
        """Names of the objectives ``sample`` breaks (maximum throughput is a cap, never a breach)."""
        out: list[str] = []
        if (
            self.max_delay_ms is not None
            and sample.delay_ms is not None
            and sample.delay_ms > self.max_delay_ms
        ):
            out.append("maxPacketDelay")
        if (
            self.max_loss_rate is not None
            and sample.loss_rate is not None
            and sample.loss_rate > self.max_loss_rate
        ):
            out.append("maxPacketLossRate")
        if (
            self.gua_throughput_kbps is not None
            and sample.throughput_kbps is not None
            and sample.throughput_kbps < self.gua_throughput_kbps
        ):
            out.append("guaranteedThroughput")
        return tuple(out)


def sla_from_a1(body: Mapping[str, Any], policy_id: str = "") -> SliceSla:
    """Parse one (schema-validated) instance of the A1 slice SLA target type."""
    scope = body["scope"]
    objectives = body.get("sliceSlaObjectives", {})
    cells = scope.get("cellIdList")

    def num(name: str) -> float | None:
        value = objectives.get(name)
        return None if value is None else float(value)

    priority = objectives.get("priorityLevel")
    return SliceSla(
        member=snssai_from_a1(scope["sliceId"]),
        cells=frozenset(cells) if cells else None,
        max_delay_ms=num("maxPacketDelayMs"),
        max_loss_rate=num("maxPacketLossRate"),
        gua_throughput_kbps=num("guaThroughputKbps"),
        max_throughput_kbps=num("maxThroughputKbps"),
        priority=None if priority is None else int(priority),
        policy_id=policy_id,
    )
