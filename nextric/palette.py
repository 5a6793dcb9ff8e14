"""One colour per slice, everywhere a slice is drawn: the operator page (served as ``/ui/palette.json``), the demo's
``report.html`` and its PNGs. Colour-blind-safe (Okabe-Ito); a slice not named here takes the next fallback colour in
a fixed order, so two views of the same slices never disagree."""

from __future__ import annotations

from collections.abc import Sequence

#: the suite's slices (twm_poc and the other scenarios name them so)
SLICE_COLORS: dict[str, str] = {"eMBB": "#0072B2", "URLLC": "#D55E00", "FWA": "#009E73", "mMTC": "#CC79A7"}
#: slices the palette does not name, in the order they are listed
FALLBACK: tuple[str, ...] = ("#E69F00", "#56B4E9", "#882255", "#999933", "#666666")
#: reference lines: SLA ceilings (dashed, in the slice's colour) and the moment a plan was applied
SLA_DASH = "6 4"
APPLIED_COLOR = "#444444"


def slice_colors(names: Sequence[str]) -> dict[str, str]:
    """Colour of each slice in ``names``: the palette's, else the fallbacks in order of appearance."""
    out: dict[str, str] = {}
    spare = iter(FALLBACK * (1 + len(names) // len(FALLBACK)))
    for n in names:
        out[n] = SLICE_COLORS.get(n) or next(spare)
    return out


def palette_json() -> dict[str, object]:
    """What the operator page loads (``/ui/palette.json``)."""
    return {"slices": SLICE_COLORS, "fallback": list(FALLBACK), "slaDash": SLA_DASH, "applied": APPLIED_COLOR}
