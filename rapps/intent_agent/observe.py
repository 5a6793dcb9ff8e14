"""Observations the rApp keeps: E2 KPM messages -> :class:`~nextric.kpm.KpmReport` (cells and slices as the
twin's ``Describe`` names them), and per-slice KPIs of an area over a window (pure)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from nextric.e2sm.kpm.v1 import kpm_pb2
from nextric.kpm import KpmReport, report_of
from nextric.topology import Topology


def to_report(msgs: Sequence[kpm_pb2.KpmIndicationMessage], topo: Topology, t_end_s: float) -> KpmReport:
    """One report from the per-node KPM messages of one period (the same period for every cell); cells the
    description does not list are left out."""
    return report_of(msgs, topo.cell_ids_by_key, topo.slice_ids, t_end_s)


@dataclass(frozen=True)
class AreaKpis:
    """Per-slice KPIs of an area over some reports, plus PRB use (the energy / resource cost proxy)."""

    loss: dict[str, float]  #: offered-volume weighted loss fraction
    p99_ms: dict[str, float]  #: worst cell per report, averaged over reports
    throughput_mbps: dict[str, float]  #: summed over the area's cells, averaged over reports
    prb_use: float  #: RRU.PrbUsedDl / RRU.PrbAvailDl over the area
    n_reports: int
    prb_per_mbps: float = 0.0  #: PRBs in use per Mbit/s delivered (resource / energy cost per bit, TS 28.554 inverse)


def area_kpis(reports: Sequence[KpmReport], cells: Sequence[int], slice_names: Sequence[str]) -> AreaKpis | None:
    want = set(cells)
    rows = [[c for c in r.cells if not want or c.cell_id in want] for r in reports]
    rows = [r for r in rows if r]
    if not rows:
        return None
    loss, p99, thp = {}, {}, {}
    for i, name in enumerate(slice_names):
        off = np.array([sum(c.slices[i].offered_mbps for c in r) for r in rows])
        lost = np.array([sum(c.slices[i].offered_mbps * c.slices[i].packet_loss for c in r) for r in rows])
        loss[name] = float(lost.sum() / off.sum()) if off.sum() > 0 else 0.0
        p99[name] = float(np.mean([max(c.slices[i].p99_delay_ms for c in r) for r in rows]))
        thp[name] = float(np.mean([sum(c.slices[i].thp_dl_mbps for c in r) for r in rows]))
    used = sum(c.prb_used_dl for r in rows for c in r)
    avail = sum(c.prb_avail_dl for r in rows for c in r)
    delivered = sum(sk.thp_dl_mbps for r in rows for c in r for sk in c.slices)
    return AreaKpis(loss, p99, thp, float(used / avail) if avail > 0 else 0.0, len(rows),
                    float(used / delivered) if delivered > 0 else 0.0)


class History:
    """The last ``maxlen`` KPM reports (one per rApp reporting period) and the E2 KPM messages they came from
    (every cell's rows of the period in one message: what the twin service is built from)."""

    def __init__(self, maxlen: int = 240, clock: Callable[[], float] = time.time) -> None:
        self.reports: deque[KpmReport] = deque(maxlen=maxlen)
        self.received_unix_s: deque[float] = deque(maxlen=maxlen)  #: wall clock at which each report arrived
        self.messages: deque[kpm_pb2.KpmIndicationMessage] = deque(maxlen=maxlen)
        self.count = 0
        self._clock = clock

    def add(self, report: KpmReport, message: kpm_pb2.KpmIndicationMessage | None = None) -> None:
        self.reports.append(report)
        self.received_unix_s.append(self._clock())
        if message is not None:
            self.messages.append(message)
        self.count += 1

    def since(self, t_s: float) -> list[KpmReport]:
        return [r for r in self.reports if r.t_start_s >= t_s - 1e-9]

    def before(self, t_s: float) -> list[KpmReport]:
        return [r for r in self.reports if r.t_end_s <= t_s + 1e-9]
