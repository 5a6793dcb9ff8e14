"""Prometheus metrics of the slice scheduler (one registry passed in; no globals)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

#: seconds; fine enough to read a p99 off between 0.1 ms and 2 s
LATENCY_BUCKETS = (1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 3e-3, 5e-3, 7e-3, 1e-2, 1.5e-2, 2e-2, 3e-2, 5e-2, 7e-2, 0.1, 0.15,
                   0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0)


@dataclass
class SliceMetrics:
    decision_latency: Histogram
    round_cells: Histogram
    indication_latency: Histogram
    indications: Counter
    controls_sent: Counter
    controls_denied: Counter
    controls_clamped: Counter
    controls_failed: Counter
    controls_not_effective: Counter
    not_effective: Gauge
    headroom: Gauge
    assigned_nodes: Gauge
    replicas: Gauge
    sdl_errors: Counter
    restored_cells: Counter
    applied_reports: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> SliceMetrics:
        p = "nextric_slice_scheduler_"
        return cls(
            decision_latency=Histogram(
                p + "decision_seconds", "allocator + guardrail time of one decision round (every cell of the "
                "indications waiting, decided in one batched call)", registry=registry, buckets=LATENCY_BUCKETS,
            ),
            round_cells=Histogram(p + "round_cells", "cells decided together in one round", registry=registry,
                                  buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)),
            indication_latency=Histogram(
                p + "indication_seconds", "from a KPM indication's arrival to every control of its round "
                "acknowledged (queueing for the round included)", registry=registry, buckets=LATENCY_BUCKETS,
            ),
            indications=Counter(p + "indications", "KPM indications fully handled (decided, controls sent)",
                                registry=registry),
            controls_sent=Counter(p + "controls_sent", "slice PRB quota controls acknowledged", registry=registry),
            controls_denied=Counter(p + "controls_denied", "controls denied by the guardrail", ["reason"],
                                    registry=registry),
            controls_clamped=Counter(p + "controls_clamped", "controls clamped by the guardrail", ["reason"],
                                     registry=registry),
            controls_failed=Counter(p + "controls_failed", "controls refused by the E2 node", ["cause"],
                                    registry=registry),
            controls_not_effective=Counter(p + "controls_not_effective", "controls not seen in later KPM",
                                           ["check"], registry=registry),
            not_effective=Gauge(p + "control_not_effective", "1 while the cell's last control did not take effect",
                                ["cell"], registry=registry),
            headroom=Gauge(p + "sla_headroom", "SLA headroom (0 = at a ceiling, 1 = idle)", ["cell", "slice"],
                           registry=registry),
            assigned_nodes=Gauge(p + "assigned_nodes", "E2 nodes this replica controls", registry=registry),
            replicas=Gauge(p + "replicas", "live replicas in the ring", registry=registry),
            sdl_errors=Counter(p + "sdl_errors", "failed SDL operations (state kept in memory)", registry=registry),
            restored_cells=Counter(p + "restored_cells", "cells whose state was restored from SDL",
                                   registry=registry),
            applied_reports=Counter(p + "applied_reports", "applied controls reported to the policy audit",
                                    ["result"], registry=registry),
        )
