"""Prometheus metrics of the intent rApp, on the agent's own registry (no global state).

Counters and the planning-time histogram are updated where the event happens (audit append, KPM report, plan);
the number of intents per lifecycle state and of plans per status are read from the agent when scraped, so they
can never drift from what the API answers. Names follow Prometheus conventions (base units, ``_total`` added by
the client library to counters)."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

#: (lifecycle of every intent, status of every plan), read at scrape time
States = Callable[[], tuple[Iterable[str], Iterable[str]]]


@dataclass(frozen=True)
class RappMetrics:
    registry: CollectorRegistry
    audit_events: Counter
    kpm_reports: Counter
    plan_seconds: Histogram

    @staticmethod
    def create(registry: CollectorRegistry) -> RappMetrics:
        return RappMetrics(
            registry=registry,
            audit_events=Counter("nextric_rapp_audit_events", "Audit records appended, by kind", ["kind"],
                                 registry=registry),
            kpm_reports=Counter("nextric_rapp_kpm_reports", "KPM reports (one per period, all nodes) received",
                                registry=registry),
            plan_seconds=Histogram("nextric_rapp_plan_seconds", "Time to plan one intent (s), twin rollouts included",
                                   buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
                                   registry=registry),
        )

    def count_audit(self, kind: str) -> None:
        self.audit_events.labels(kind).inc()

    def watch_states(self, states: States) -> None:
        """Expose ``nextric_rapp_intents{lifecycle}`` and ``nextric_rapp_plans{status}`` from ``states``."""
        self.registry.register(_StateCollector(states))


class _StateCollector(Collector):
    def __init__(self, states: States) -> None:
        self._states = states

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lifecycles, statuses = self._states()
        for name, doc, label, values in (
                ("nextric_rapp_intents", "Intents held, by lifecycle state", "lifecycle", lifecycles),
                ("nextric_rapp_plans", "Plans held, by status", "status", statuses)):
            family = GaugeMetricFamily(name, doc, labels=[label])
            for value, n in sorted(Tally(values).items()):
                family.add_metric([value], n)
            yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # no samples at registration: the agent may still be loading
