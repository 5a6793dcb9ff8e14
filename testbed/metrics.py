"""Per-slice KPIs of the emulated network as Prometheus gauges (the Grafana dashboard's ground floor).

Aggregated over every cell after each fast sub-step: the same TS 28.552-named figures that the E2 KPM reports
carry, summed (throughput, offered load, PRBs) or traffic-weighted (loss, mean RLC delay) per S-NSSAI, with the
worst cell's p99 delay. Names and values in base units (bit/s, s), as Prometheus conventions ask: the KPM
figures' Mbit/s and ms are converted here. One registry passed in; no globals.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Gauge

from testbed.core.reports import KpmReport

BITS_PER_MBIT = 1e6
SECONDS_PER_MS = 1e-3


@dataclass
class SliceKpiMetrics:
    throughput: Gauge
    offered: Gauge
    loss: Gauge
    rlc_delay: Gauge
    p99_delay: Gauge
    prb_used: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> SliceKpiMetrics:
        p, lab = "nextric_testbed_slice_", ["slice", "snssai"]
        return cls(
            throughput=Gauge(p + "throughput_bits_per_second", "DRB.UEThpDl summed over cells, bit/s", lab,
                             registry=registry),
            offered=Gauge(p + "offered_bits_per_second", "offered downlink load summed over cells, bit/s", lab,
                          registry=registry),
            loss=Gauge(p + "packet_loss_ratio", "dropped / offered volume (RAN + transport), 0..1", lab,
                       registry=registry),
            rlc_delay=Gauge(p + "rlc_delay_seconds", "DRB.RlcSduDelayDl, traffic-weighted mean, s", lab,
                            registry=registry),
            p99_delay=Gauge(p + "p99_delay_seconds", "end-to-end p99 delay of the worst cell, s", lab,
                            registry=registry),
            prb_used=Gauge(p + "prb_used", "RRU.PrbUsedDl summed over cells, PRBs per slot", lab, registry=registry),
        )

    def observe(self, report: KpmReport) -> None:
        if not report.cells:
            return
        for si, first in enumerate(report.cells[0].slices):
            rows = [c.slices[si] for c in report.cells]
            offered = sum(r.offered_mbps for r in rows)
            served = sum(r.thp_dl_mbps for r in rows)
            labels = (first.name, f"{first.sst}-{first.sd}")
            self.throughput.labels(*labels).set(served * BITS_PER_MBIT)
            self.offered.labels(*labels).set(offered * BITS_PER_MBIT)
            self.loss.labels(*labels).set(
                sum(r.packet_loss * r.offered_mbps for r in rows) / offered if offered > 0 else 0.0)
            self.rlc_delay.labels(*labels).set(SECONDS_PER_MS * (
                sum(r.rlc_sdu_delay_ms * r.thp_dl_mbps for r in rows) / served if served > 0 else 0.0))
            self.p99_delay.labels(*labels).set(SECONDS_PER_MS * max(r.p99_delay_ms for r in rows))
            self.prb_used.labels(*labels).set(sum(r.prb_used_dl for r in rows))
