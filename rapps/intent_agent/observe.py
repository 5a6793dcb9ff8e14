"""Observations the rApp keeps: E2 KPM messages -> the twin's / planner's :class:`KpmReport` (scenario cell
order from the twin's Describe), and per-slice KPIs of an area over a window (pure)."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nextric.e2 import measurements
from nextric.e2sm.kpm.v1 import kpm_pb2
from testbed.core.params import ScenarioParams
from testbed.core.reports import CellKpm, KpmReport, SliceKpm


@dataclass(frozen=True)
class CellMap:
    """E2 cell key <-> scenario cell id (order of the twin's Describe = scenario order)."""

    key_to_id: dict[str, int]
    slice_keys: tuple[str, ...]


def merge_messages(msgs: Sequence[kpm_pb2.KpmIndicationMessage]) -> kpm_pb2.KpmIndicationMessage:
    """The per-node KPM messages of one period as one message with every cell's rows."""
    if not msgs:
        return kpm_pb2.KpmIndicationMessage()
    return kpm_pb2.KpmIndicationMessage(granularity_period_ms=msgs[0].granularity_period_ms,
                                        measurement_names=list(msgs[0].measurement_names),
                                        sets=[row for m in msgs for row in m.sets])


def to_report(msgs: Sequence[kpm_pb2.KpmIndicationMessage], cmap: CellMap, sc: ScenarioParams,
              t_end_s: float) -> KpmReport:
    """One report from the per-node KPM messages of one period (the same period for every cell)."""
    period_s = max((m.granularity_period_ms for m in msgs), default=1000) / 1000.0
    cells = []
    for msg in msgs:
        table = measurements.kpm_table(msg)
        by_cell: dict[str, dict[str, dict[str, float]]] = {}
        avail: dict[str, float] = {}
        for (cell, sk), vals in table.items():
            if cell not in cmap.key_to_id:
                continue
            if sk is None:
                avail[cell] = vals.get(measurements.PRB_AVAIL_DL, 0.0)
            else:
                by_cell.setdefault(cell, {})[sk] = vals
        for cell, slices in by_cell.items():
            kpms = []
            for key, s in zip(cmap.slice_keys, sc.slices, strict=True):
                v = slices.get(key, {})
                kpms.append(SliceKpm(s.sst, s.sd, s.name, v.get(measurements.THP_DL, 0.0),
                                     v.get(measurements.PRB_USED_DL, 0.0), v.get(measurements.DELAY_DL, 0.0),
                                     v.get(measurements.LOSS_DL, 0.0), v.get(measurements.DELAY_DL_P99, 0.0),
                                     v.get(measurements.OFFERED_DL, 0.0), (0.0, 0.0, 0.0)))
            used = sum(k.prb_used_dl for k in kpms)
            cells.append(CellKpm(cmap.key_to_id[cell], avail.get(cell, 0.0), used, tuple(kpms)))
    cells.sort(key=lambda c: c.cell_id)
    return KpmReport(t_end_s - period_s, t_end_s, 1, tuple(cells))


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

    def __init__(self, maxlen: int = 240) -> None:
        self.reports: deque[KpmReport] = deque(maxlen=maxlen)
        self.messages: deque[kpm_pb2.KpmIndicationMessage] = deque(maxlen=maxlen)
        self.count = 0

    def add(self, report: KpmReport, message: kpm_pb2.KpmIndicationMessage | None = None) -> None:
        self.reports.append(report)
        if message is not None:
            self.messages.append(message)
        self.count += 1

    def since(self, t_s: float) -> list[KpmReport]:
        return [r for r in self.reports if r.t_start_s >= t_s - 1e-9]

    def before(self, t_s: float) -> list[KpmReport]:
        return [r for r in self.reports if r.t_end_s <= t_s + 1e-9]
