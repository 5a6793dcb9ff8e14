"""KPM reports as values, their E2SM-KPM encoding, and the load they show.

Names follow TS 28.552 (DRB.UEThpDl, RRU.PrbUsedDl, RRU.PrbAvailDl, DRB.RlcSduDelayDl) and TS 28.541
(RRMPolicyRatio). The emulator produces :class:`KpmReport` values, its E2 nodes encode them
(:func:`cell_rows`, :func:`report_message`), and the rApp and the digital twin decode what arrives over E2
(:func:`report_of`) and estimate the offered load and capacity per PRB from it (:func:`load_estimate`): one
codec and one estimator for both sides.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from nextric.arrays import FloatArray
from nextric.e2 import ids, measurements
from nextric.e2.v1 import common_pb2
from nextric.e2sm.kpm.v1 import kpm_pb2
from nextric.errors import ValidationError


@dataclass(frozen=True)
class SliceKpm:
    """Per cell, per S-NSSAI measurements over a reporting period."""

    sst: int
    sd: str
    name: str
    thp_dl_mbps: float  #: DRB.UEThpDl (delivered over the air)
    prb_used_dl: float  #: RRU.PrbUsedDl (mean PRBs per slot)
    rlc_sdu_delay_ms: float  #: DRB.RlcSduDelayDl (mean)
    packet_loss: float  #: fraction of offered volume dropped (RAN + transport)
    p99_delay_ms: float  #: end-to-end 99th percentile delay
    offered_mbps: float
    ratio_pct: tuple[float, float, float]  #: RRMPolicyRatio in force (dedicated, min, max); zeros when not reported


@dataclass(frozen=True)
class CellKpm:
    """One cell's KPM report."""

    cell_id: int
    prb_avail_dl: float  #: RRU.PrbAvailDl
    prb_used_dl: float  #: RRU.PrbUsedDl total
    slices: tuple[SliceKpm, ...]


@dataclass(frozen=True)
class KpmReport:
    """KPM over the fast sub-steps since the previous read: [t_start_s, t_end_s)."""

    t_start_s: float
    t_end_s: float
    n_steps: int
    cells: tuple[CellKpm, ...]


@dataclass(frozen=True)
class SliceId:
    """A slice as the KPM rows name it (S-NSSAI) and as reports carry it (``name``)."""

    sst: int
    sd: str
    name: str

    @property
    def key(self) -> str:
        return ids.snssai_key(ids.make_snssai(self.sst, self.sd))


def aggregate(window: Sequence[CellKpm]) -> CellKpm:
    """One cell's sub-step reports as one KPM period reads them: means of rates and PRBs, the worst p99, loss
    weighted by offered volume."""
    if not window:
        raise ValidationError("no reports to aggregate")
    k = len(window)
    out = []
    for si, first in enumerate(window[0].slices):
        per = [c.slices[si] for c in window]
        offered = sum(s.offered_mbps for s in per)
        out.append(SliceKpm(first.sst, first.sd, first.name, sum(s.thp_dl_mbps for s in per) / k,
                            sum(s.prb_used_dl for s in per) / k, sum(s.rlc_sdu_delay_ms for s in per) / k,
                            sum(s.packet_loss * s.offered_mbps for s in per) / offered if offered > 0 else 0.0,
                            max(s.p99_delay_ms for s in per), offered / k, window[-1].slices[si].ratio_pct))
    return CellKpm(window[0].cell_id, window[0].prb_avail_dl, sum(c.prb_used_dl for c in window) / k, tuple(out))


def cell_rows(cell: CellKpm, cgi: common_pb2.NrCgi, snssais: Sequence[common_pb2.Snssai]
              ) -> list[tuple[common_pb2.NrCgi, common_pb2.Snssai | None, dict[str, float]]]:
    """The measurement rows of one cell's period: one per slice, then the cell level."""
    rows: list[tuple[common_pb2.NrCgi, common_pb2.Snssai | None, dict[str, float]]] = [
        (cgi, snssai, {measurements.THP_DL: s.thp_dl_mbps, measurements.PRB_USED_DL: s.prb_used_dl,
                       measurements.DELAY_DL: s.rlc_sdu_delay_ms, measurements.DELAY_DL_P99: s.p99_delay_ms,
                       measurements.LOSS_DL: s.packet_loss, measurements.OFFERED_DL: s.offered_mbps})
        for snssai, s in zip(snssais, cell.slices, strict=True)]
    rows.append((cgi, None, {measurements.PRB_AVAIL_DL: cell.prb_avail_dl, measurements.PRB_USED_DL: cell.prb_used_dl,
                             measurements.THP_DL: sum(s.thp_dl_mbps for s in cell.slices)}))
    return rows


def report_message(report: KpmReport, cgis: Mapping[int, common_pb2.NrCgi], slices: Sequence[SliceId],
                   period_ms: int | None = None) -> kpm_pb2.KpmIndicationMessage:
    """Every cell of ``report`` as one KPM message (``cgis``: cell id -> NR CGI; ``period_ms`` defaults to the
    report's window)."""
    snssais = [ids.make_snssai(s.sst, s.sd) for s in slices]
    period = period_ms if period_ms is not None else max(round((report.t_end_s - report.t_start_s) * 1000), 1)
    rows = [r for c in report.cells for r in cell_rows(c, cgis[c.cell_id], snssais)]
    return measurements.build_kpm(period, rows)


def merge_messages(msgs: Sequence[kpm_pb2.KpmIndicationMessage]) -> kpm_pb2.KpmIndicationMessage:
    """The per-node KPM messages of one period as one message with every cell's rows (what the twin accepts)."""
    if not msgs:
        return kpm_pb2.KpmIndicationMessage()
    return kpm_pb2.KpmIndicationMessage(granularity_period_ms=msgs[0].granularity_period_ms,
                                        measurement_names=list(msgs[0].measurement_names),
                                        sets=[row for m in msgs for row in m.sets])


def report_of(msgs: Sequence[kpm_pb2.KpmIndicationMessage], cell_ids: Mapping[str, int], slices: Sequence[SliceId],
              t_end_s: float | None = None, strict: bool = False) -> KpmReport:
    """One report of one period from KPM messages (any split of the cells over messages). ``cell_ids``: cell key
    -> cell id; a cell not in it is skipped, or an error when ``strict``. The window is the messages' period ending
    at ``t_end_s`` (default: starting at 0). Cells come sorted by id."""
    period_s = max((m.granularity_period_ms for m in msgs), default=1000) / 1000.0
    keys = [s.key for s in slices]
    cells = []
    for msg in msgs:
        per_cell: dict[str, dict[str, dict[str, float]]] = {}
        totals: dict[str, dict[str, float]] = {}
        for (cell, sk), vals in measurements.kpm_table(msg).items():
            if cell not in cell_ids:
                if strict:
                    raise ValidationError(f"KPM for unknown cell {cell}")
                continue
            if sk is None:
                totals[cell] = vals
            else:
                per_cell.setdefault(cell, {})[sk] = vals
        for cell, by_slice in per_cell.items():
            kpms = []
            for key, s in zip(keys, slices, strict=True):
                v = by_slice.get(key, {})
                kpms.append(SliceKpm(s.sst, s.sd, s.name, v.get(measurements.THP_DL, 0.0),
                                     v.get(measurements.PRB_USED_DL, 0.0), v.get(measurements.DELAY_DL, 0.0),
                                     v.get(measurements.LOSS_DL, 0.0), v.get(measurements.DELAY_DL_P99, 0.0),
                                     v.get(measurements.OFFERED_DL, 0.0), (0.0, 0.0, 0.0)))
            tot = totals.get(cell, {})
            cells.append(CellKpm(cell_ids[cell], tot.get(measurements.PRB_AVAIL_DL, 0.0),
                                 tot.get(measurements.PRB_USED_DL, sum(k.prb_used_dl for k in kpms)), tuple(kpms)))
    cells.sort(key=lambda c: c.cell_id)
    end = period_s if t_end_s is None else t_end_s
    return KpmReport(end - period_s, end, 1, tuple(cells))


def load_estimate(reports: Sequence[KpmReport], cell_ids: Sequence[int], n_slices: int
                  ) -> tuple[FloatArray, FloatArray]:
    """Offered load (C, S) Mbit/s and capacity per PRB (C, S) Mbit/PRB/s per (cell, slice), time-weighted over the
    reports, cells in ``cell_ids`` order. The capacity of a slice that used no PRB is its cell's mean (1 when the
    cell used none)."""
    if not reports:
        raise ValidationError("no KPM report to estimate the load from")
    n_c = len(cell_ids)
    w = np.zeros((n_c, n_slices))
    off = np.zeros((n_c, n_slices))
    thp = np.zeros((n_c, n_slices))
    prb = np.zeros((n_c, n_slices))
    idx = {c: i for i, c in enumerate(cell_ids)}
    for rep in reports:
        dur = rep.t_end_s - rep.t_start_s
        for cell in rep.cells:
            if cell.cell_id not in idx:
                raise ValidationError(f"KPM report for unknown cell id {cell.cell_id}")
            ci = idx[cell.cell_id]
            for si, sk in enumerate(cell.slices):
                w[ci, si] += dur
                off[ci, si] += sk.offered_mbps * dur
                thp[ci, si] += sk.thp_dl_mbps * dur
                prb[ci, si] += sk.prb_used_dl * dur
    offered = off / np.maximum(w, 1e-9)
    cap = np.where(prb > 1e-6, thp / np.maximum(prb, 1e-9), np.nan)
    with warnings.catch_warnings():  # a cell that used no PRB at all has no mean: 1 below
        warnings.simplefilter("ignore", RuntimeWarning)
        cell_mean = np.nanmean(cap, axis=1, keepdims=True)
    cap = np.where(np.isnan(cap), np.where(np.isnan(cell_mean), 1.0, cell_mean), cap)
    return offered, cap
