"""Prometheus metrics of the channel-estimator selector (one registry passed in; no globals).

Names and values in base units, as Prometheus conventions ask: the estimators' latency, measured in µs, is
exported in seconds (:meth:`CeMetrics.set_latency`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class CeMetrics:
    reports: Counter
    bad_reports: Counter
    decisions: Counter
    chosen: Gauge
    proxy_nmse: Gauge
    proxy_se: Gauge
    switches: Counter
    fallbacks: Counter
    data_requests: Gauge
    controls_sent: Counter
    controls_denied: Counter
    controls_failed: Counter
    effect: Counter
    scoring_seconds: Histogram
    latency: Gauge
    model_loaded: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> CeMetrics:
        p = "nextric_ce_selector_"
        grp = ["cell", "group"]
        return cls(
            reports=Counter(p + "ue_reports", "UE PILOT reports used", registry=registry),
            bad_reports=Counter(p + "bad_reports", "UE PILOT reports rejected (geometry)", registry=registry),
            decisions=Counter(p + "decisions", "group decisions by chosen estimator", ["estimator"],
                              registry=registry),
            chosen=Gauge(p + "chosen", "1 for the estimator chosen for the group", [*grp, "estimator"],
                         registry=registry),
            proxy_nmse=Gauge(p + "proxy_nmse_db", "cross-validated proxy NMSE of each candidate, dB",
                             [*grp, "estimator"], registry=registry),
            proxy_se=Gauge(p + "proxy_se_db", "standard error of the proxy NMSE, dB", [*grp, "estimator"],
                           registry=registry),
            switches=Counter(p + "switches", "changes of a group's estimator (decided)", ["to"], registry=registry),
            fallbacks=Counter(p + "fallbacks", "decisions without the neural estimator, by reason", ["reason"],
                              registry=registry),
            data_requests=Gauge(p + "data_requested", "1 while a group lies outside the neural card's validity "
                                "range (more data asked for)", grp, registry=registry),
            controls_sent=Counter(p + "controls_sent", "estimator-mode controls acknowledged", registry=registry),
            controls_denied=Counter(p + "controls_denied", "controls denied by the guardrail", ["reason"],
                                    registry=registry),
            controls_failed=Counter(p + "controls_failed", "controls refused by the E2 node", ["cause"],
                                    registry=registry),
            effect=Counter(p + "effect", "controls checked in later PILOT reports", ["result"], registry=registry),
            scoring_seconds=Histogram(p + "scoring_seconds", "proxy scoring of one group window", registry=registry,
                                      buckets=(1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)),
            latency=Gauge(p + "estimator_latency_seconds", "measured latency per 4-PRB block (one slot), s",
                          ["estimator"], registry=registry),
            model_loaded=Gauge(p + "model_loaded", "1 for the neural model serving now", ["version"],
                               registry=registry),
        )

    def set_latency(self, latency_us: Mapping[str, float]) -> None:
        """Export the measured latency of each estimator (µs, as the selector's budget is set) in seconds."""
        for estimator, us in latency_us.items():
            self.latency.labels(estimator).set(us * 1e-6)
