"""KPM measurement names (3GPP TS 28.552 families, units fixed by nextric) and table conversion."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from nextric.e2 import ids
from nextric.e2.v1 import common_pb2
from nextric.e2sm.kpm.v1 import kpm_pb2

THP_DL = "DRB.UEThpDl"  # Mbit/s
PRB_USED_DL = "RRU.PrbUsedDl"  # PRBs
PRB_AVAIL_DL = "RRU.PrbAvailDl"  # PRBs
DELAY_DL = "DRB.RlcSduDelayDl"  # ms, mean
DELAY_DL_P99 = "DRB.RlcSduDelayDl.P99"  # ms, 99th percentile
LOSS_DL = "DRB.PacketLossRateDl"  # fraction 0..1
OFFERED_DL = "DRB.OfferedLoadDl"  # Mbit/s
BUFFER_DL = "DRB.BufferDl"  # Mbit

SLICE_MEASUREMENTS: tuple[str, ...] = (
    THP_DL,
    PRB_USED_DL,
    DELAY_DL,
    DELAY_DL_P99,
    LOSS_DL,
    OFFERED_DL,
    BUFFER_DL,
)
CELL_MEASUREMENTS: tuple[str, ...] = (THP_DL, PRB_USED_DL, PRB_AVAIL_DL)
ALL_MEASUREMENTS: tuple[str, ...] = tuple(dict.fromkeys(SLICE_MEASUREMENTS + CELL_MEASUREMENTS))

# (cell key, slice key or None for cell level) -> {measurement name: value}
KpmTable = dict[tuple[str, str | None], dict[str, float]]


def kpm_table(message: kpm_pb2.KpmIndicationMessage) -> KpmTable:
    """Turn a KPM indication into a dict keyed by (cell, slice); NaN values are left out."""
    names = list(message.measurement_names)
    table: KpmTable = {}
    for row in message.sets:
        slice_key = ids.snssai_key(row.snssai) if row.HasField("snssai") else None
        table[(ids.cell_key(row.cgi), slice_key)] = {
            name: value for name, value in zip(names, row.values, strict=False) if value == value
        }
    return table


def build_kpm(
    granularity_period_ms: int,
    rows: Iterable[tuple[common_pb2.NrCgi, common_pb2.Snssai | None, Mapping[str, float]]],
    names: tuple[str, ...] = ALL_MEASUREMENTS,
) -> kpm_pb2.KpmIndicationMessage:
    """Build a KPM message from rows of (cell, slice or None, {name: value}); missing names become NaN."""
    nan = float("nan")
    sets = []
    for cgi, snssai, values in rows:
        row = kpm_pb2.MeasurementSet(cgi=cgi, values=[values.get(n, nan) for n in names])
        if snssai is not None:
            row.snssai.CopyFrom(snssai)
        sets.append(row)
    return kpm_pb2.KpmIndicationMessage(
        granularity_period_ms=granularity_period_ms, measurement_names=list(names), sets=sets
    )
