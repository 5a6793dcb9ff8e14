"""Prometheus metrics of the policy service, registered on the app's own registry (no global state)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram


@dataclass(frozen=True)
class PolicyMetrics:
    verdicts: Counter
    check_seconds: Histogram
    applied: Counter
    rollbacks: Counter
    breaches: Counter
    audit_seconds: Histogram
    evicted: Counter

    @staticmethod
    def create(registry: CollectorRegistry) -> PolicyMetrics:
        return PolicyMetrics(
            verdicts=Counter(
                "nextric_policy_verdicts", "Guardrail verdicts", ["decision", "kind"], registry=registry
            ),
            check_seconds=Histogram(
                "nextric_policy_check_seconds",
                "Engine time per check (s)",
                buckets=(1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2),
                registry=registry,
            ),
            applied=Counter(
                "nextric_policy_applied_actions", "Applied actions reported", ["kind"], registry=registry
            ),
            rollbacks=Counter("nextric_policy_rollbacks", "Rollbacks issued", ["trigger"], registry=registry),
            breaches=Counter("nextric_policy_sla_breaches", "KPI samples breaking an SLA", registry=registry),
            audit_seconds=Histogram(
                "nextric_policy_audit_append_seconds", "Durable audit append latency (s)", registry=registry
            ),
            evicted=Counter(
                "nextric_policy_applied_evicted",
                "Applied-state entries evicted (least recently applied first) to stay within the limits",
                ["entry"],
                registry=registry,
            ),
        )
