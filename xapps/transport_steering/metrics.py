"""Prometheus metrics of the transport steering xApp (one registry passed in; no globals)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class SteeringMetrics:
    decisions: Counter
    decision_latency: Histogram
    set_failed: Counter
    share: Gauge
    link_up: Gauge
    utilisation: Gauge
    stream_restarts: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> SteeringMetrics:
        p = "nextric_transport_steering_"
        return cls(
            decisions=Counter(p + "decisions", "share decisions sent to the transport controller", registry=registry),
            decision_latency=Histogram(p + "decision_seconds", "law time of one decision over every link",
                                       registry=registry, buckets=(1e-5, 1e-4, 1e-3, 1e-2, 0.1)),
            set_failed=Counter(p + "set_shares_failed", "SetShares calls the controller refused or missed",
                               ["code"], registry=registry),
            share=Gauge(p + "share_ratio", "share in force per link and slice", ["link", "slice"], registry=registry),
            link_up=Gauge(p + "link_up", "1 while the link is up (transport alarm otherwise)", ["link"],
                          registry=registry),
            utilisation=Gauge(p + "link_utilisation_ratio", "offered / capacity over the last period", ["link"],
                              registry=registry),
            stream_restarts=Counter(p + "telemetry_restarts", "telemetry streams re-opened", registry=registry),
        )
