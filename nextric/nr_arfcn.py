"""NR-ARFCN <-> carrier frequency (3GPP TS 38.104 clause 5.4.2.1, global frequency raster)."""

from __future__ import annotations

from nextric.errors import ValidationError


def carrier_mhz(nr_arfcn: int) -> float:
    """Carrier frequency in MHz of NR-ARFCN ``nr_arfcn`` (0..3279165), rounded to 1 kHz."""
    if not 0 <= nr_arfcn <= 3_279_165:
        raise ValidationError(f"NR-ARFCN {nr_arfcn} outside 0..3279165")
    if nr_arfcn < 600_000:
        return round(0.005 * nr_arfcn, 3)
    if nr_arfcn < 2_016_667:
        return round(3000.0 + 0.015 * (nr_arfcn - 600_000), 3)
    return round(24250.08 + 0.06 * (nr_arfcn - 2_016_667), 3)
