"""Prometheus metrics of the E2 server base and client, registered on a passed-in registry."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass(frozen=True)
class E2ServerMetrics:
    indications: Counter
    dropped: Counter
    subscriptions: Gauge
    controls: Counter
    rejected: Counter
    slow_consumers: Counter
    auth_refused: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> E2ServerMetrics:
        return cls(
            indications=Counter(
                "nextric_e2_indications_sent", "RIC indications queued to subscribers", ["style"], registry=registry
            ),
            dropped=Counter(
                "nextric_e2_indications_dropped", "indications dropped on full outboxes", registry=registry
            ),
            subscriptions=Gauge("nextric_e2_subscriptions", "active subscriptions", registry=registry),
            controls=Counter("nextric_e2_controls", "RIC controls acknowledged", ["kind"], registry=registry),
            rejected=Counter(
                "nextric_e2_requests_rejected", "requests refused, by E2AP cause", ["rpc", "cause"], registry=registry
            ),
            slow_consumers=Counter(
                "nextric_e2_slow_consumers_cancelled",
                "subscription streams cancelled (RESOURCE_EXHAUSTED) because their consumer stalled",
                registry=registry,
            ),
            auth_refused=Counter(
                "nextric_e2_calls_refused", "gRPC calls refused by authentication or role, by method and reason",
                ["method", "why"], registry=registry,
            ),
        )


@dataclass(frozen=True)
class E2ClientMetrics:
    indications: Counter
    gaps: Counter
    duplicates: Counter
    reconnects: Counter
    node_restarts: Counter
    control_latency: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry) -> E2ClientMetrics:
        return cls(
            indications=Counter(
                "nextric_e2_client_indications", "indications delivered to the app", ["node"], registry=registry
            ),
            gaps=Counter("nextric_e2_client_sequence_gaps", "indications missing by sequence", registry=registry),
            duplicates=Counter(
                "nextric_e2_client_duplicates_dropped", "duplicate indications not delivered", registry=registry
            ),
            reconnects=Counter("nextric_e2_client_reconnects", "stream re-establishments", registry=registry),
            node_restarts=Counter(
                "nextric_e2_client_node_restarts", "new node incarnations seen on a stream", registry=registry
            ),
            control_latency=Histogram(
                "nextric_e2_client_control_seconds",
                "RIC control round trip",
                buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5),
                registry=registry,
            ),
        )
