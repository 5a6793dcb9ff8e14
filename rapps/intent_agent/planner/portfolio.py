"""A plan portfolio: the few plan parameter vectors that, between them, did best on the tuning horizons.

The improved planner's prior when its world models cannot rank plans well enough (they fail their cards on the
recalibrated city): instead of the surrogate's top picks it sends the portfolio's plans (instantiated from the
observed load of the horizon at hand, exactly as they were executed while tuning) to the twin, which judges
them. Chosen per shock family by greedy coverage on a matrix of executed utility (parameter vectors x
tuning horizons): the first member has the best mean; each next one adds the most to the mean of the per-horizon
best among the members chosen so far (what a perfect judge would get from the portfolio).

Pure: arrays in, arrays out; :func:`load` / :func:`save` read and write ``portfolio.json`` with its card
(``portfolio.card.json``, a model card, next to the world models). Fitted by ``python -m bench.twm_portfolio``
on the executed outcomes of tuning horizons only (in a deployment: the network's own logged outcomes).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nextric.arrays import FloatArray
from nextric.datacard import DataCard, load_card
from nextric.errors import ValidationError
from rapps.intent_agent.planner.library import D_THETA

FILE = "portfolio.json"
CARD = "portfolio.card.json"


@dataclass(frozen=True)
class Portfolio:
    """Parameter vectors per shock family (``{family: (P, D_THETA)}``) and the card that says where they came
    from."""

    members: dict[str, FloatArray]
    card: DataCard | None = None

    def of(self, family: str) -> FloatArray | None:
        """The family's members (P, D_THETA), or None when the portfolio has none for it."""
        return self.members.get(family)

    def sha256(self) -> str:
        blob = json.dumps({f: np.round(u, 12).tolist() for f, u in sorted(self.members.items())}).encode()
        return hashlib.sha256(blob).hexdigest()


def greedy_cover(utility: FloatArray, size: int) -> list[int]:
    """Rows of ``utility`` (U candidates x H horizons) chosen greedily: the best mean first, then each row that
    raises the mean over horizons of the best chosen row the most (ties: the lower index)."""
    u = np.asarray(utility, dtype=np.float64)
    if u.ndim != 2 or u.shape[0] == 0 or u.shape[1] == 0:
        raise ValidationError(f"utility must be a non-empty (candidates, horizons) matrix, got shape {u.shape}")
    if not np.isfinite(u).all():
        raise ValidationError("utility has non-finite entries")
    if size < 1:
        raise ValidationError("portfolio size must be >= 1")
    chosen: list[int] = []
    cover = np.full(u.shape[1], -np.inf)
    for _ in range(min(size, u.shape[0])):
        gain = np.maximum(u, cover[None]).mean(1)
        gain[chosen] = -np.inf
        i = int(np.argmax(gain))
        chosen.append(i)
        cover = np.maximum(cover, u[i])
    return chosen


def coverage_curve(utility: FloatArray, order: list[int]) -> list[float]:
    """Mean over horizons of the best member among the first 1, 2, ... of ``order``."""
    u = np.asarray(utility, dtype=np.float64)
    return [float(u[order[:n]].max(0).mean()) for n in range(1, len(order) + 1)]


def save(portfolio: Portfolio, directory: Path) -> Path:
    """Write ``portfolio.json`` (the members) into ``directory``; the card is written by the trainer."""
    directory.mkdir(parents=True, exist_ok=True)
    p = directory / FILE
    p.write_text(json.dumps({"d_theta": D_THETA, "members": {f: u.tolist() for f, u in
                                                              sorted(portfolio.members.items())}}, indent=1) + "\n")
    return p


def load(directory: Path) -> Portfolio | None:
    """The portfolio in ``directory`` (None when there is none); a malformed one is an error, not ignored."""
    p = directory / FILE
    if not p.exists():
        return None
    try:
        doc = json.loads(p.read_text())
        members = {str(f): np.asarray(u, dtype=np.float64) for f, u in doc["members"].items()}
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationError(f"{p}: not a portfolio ({exc})") from None
    for f, u in members.items():
        if u.ndim != 2 or u.shape[1] != D_THETA or len(u) == 0 or not np.isfinite(u).all():
            raise ValidationError(f"{p}: members[{f!r}] must be a non-empty finite (P, {D_THETA}) matrix")
    card = load_card(directory / CARD) if (directory / CARD).exists() else None
    if card is None:
        raise ValidationError(f"{p}: has no card ({CARD}); a portfolio without provenance is not used")
    return Portfolio(members, card)


__all__ = ["CARD", "FILE", "Portfolio", "coverage_curve", "greedy_cover", "load", "save"]
