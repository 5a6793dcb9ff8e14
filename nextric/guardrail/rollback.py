"""Last-known-good bookkeeping and rollback decisions (pure; the service and xApps keep the state).

Per parameter (one slice's RRMPolicyRatio in one cell): an applied change starts a probation. ``N``
consecutive SLA-breached KPI periods roll it back to the last-known-good ratios; ``N`` consecutive healthy
periods confirm it as the new last-known-good.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal

from nextric.guardrail.model import Risk, RrmPolicy, SlicePrbQuotaAction, SNssai
from nextric.guardrail.sla import KpiSample, SliceSla

Key = tuple[str, SNssai]


@dataclass(frozen=True, slots=True)
class Track:
    """One parameter: ``lkg`` last confirmed good, ``previous`` before the last change, ``current`` now."""

    current: RrmPolicy
    lkg: RrmPolicy | None
    previous: RrmPolicy | None
    probation: bool = False
    breaches: int = 0
    healthy: int = 0
    applied_at: float = 0.0


@dataclass(frozen=True, slots=True)
class RollbackDecision:
    """Restore ``restore`` in ``cell_id``; ``trigger`` says why."""

    cell_id: str
    restore: RrmPolicy
    trigger: Literal["auto", "manual"]
    breaches: int = 0
    violations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Breach:
    """A KPI sample that broke an SLA (``policy_ids``: the SLA instances it broke)."""

    cell_id: str
    member: SNssai
    violations: tuple[str, ...]
    policy_ids: tuple[str, ...]


def _no_tracks() -> Mapping[Key, Track]:
    return MappingProxyType({})


def breaches_of(samples: Iterable[KpiSample], slas: Sequence[SliceSla]) -> list[Breach]:
    """Every sample that breaks at least one applicable SLA."""
    out: list[Breach] = []
    for s in samples:
        names: list[str] = []
        ids: list[str] = []
        for sla in slas:
            if sla.applies(s.cell_id, s.member):
                v = sla.violations(s)
                if v:
                    names.extend(n for n in v if n not in names)
                    ids.append(sla.policy_id)
        if names:
            out.append(Breach(s.cell_id, s.member, tuple(names), tuple(ids)))
    return out


@dataclass(frozen=True, slots=True)
class RollbackTracker:
    """Immutable map of parameter tracks; every method returns a new tracker."""

    tracks: Mapping[Key, Track] = field(default_factory=_no_tracks)

    def applied(
        self,
        action: SlicePrbQuotaAction,
        before: Mapping[SNssai, RrmPolicy],
        now: float,
        *,
        rollback: bool = False,
    ) -> RollbackTracker:
        """Record that ``action`` reached the network; ``before``: the cell's ratios just before it."""
        tracks = dict(self.tracks)
        for p in action.policies:
            key = (action.cell_id, p.member)
            old = tracks.get(key)
            prior = before.get(p.member)
            if prior == p:
                continue
            if rollback:
                tracks[key] = Track(p, p, prior, False, 0, 0, now)
            elif old is not None and old.probation:
                tracks[key] = replace(old, current=p, previous=prior, breaches=0, healthy=0, applied_at=now)
            else:
                lkg = old.current if old is not None else prior
                tracks[key] = Track(p, lkg, prior, True, 0, 0, now)
        return RollbackTracker(MappingProxyType(tracks))

    def observe(
        self, breaches: Sequence[Breach], samples: Iterable[KpiSample], breach_periods: Callable[[str], int]
    ) -> tuple[RollbackTracker, list[RollbackDecision]]:
        """Advance probations by one KPI period; return the automatic rollbacks it triggers."""
        broken = {(b.cell_id, b.member): b for b in breaches}
        tracks = dict(self.tracks)
        decisions: list[RollbackDecision] = []
        for s in samples:
            key = (s.cell_id, s.member)
            t = tracks.get(key)
            if t is None or not t.probation:
                continue
            n = breach_periods(s.cell_id)
            b = broken.get(key)
            if b is None:
                healthy = t.healthy + 1
                tracks[key] = (
                    replace(t, lkg=t.current, probation=False, breaches=0, healthy=0)
                    if healthy >= n
                    else replace(t, breaches=0, healthy=healthy)
                )
                continue
            count = t.breaches + 1
            if count >= n and t.lkg is not None and t.lkg != t.current:
                decisions.append(RollbackDecision(s.cell_id, t.lkg, "auto", count, b.violations))
                tracks[key] = replace(t, probation=False, breaches=0, healthy=0)
            else:
                tracks[key] = replace(t, breaches=count, healthy=0)
        return RollbackTracker(MappingProxyType(tracks)), decisions

    def forget(self, cell_ids: Collection[str]) -> RollbackTracker:
        """The tracker without the tracks of ``cell_ids`` (cells whose state the caller evicted)."""
        gone = set(cell_ids)
        if not gone:
            return self
        return RollbackTracker(MappingProxyType({k: t for k, t in self.tracks.items() if k[0] not in gone}))

    def manual(self, cell_id: str, member: SNssai | None = None) -> list[RollbackDecision]:
        """Operator rollback: a parameter on probation goes back to its last-known-good, a confirmed one to
        the ratios before its last change."""
        out: list[RollbackDecision] = []
        for (cell, m), t in sorted(self.tracks.items(), key=lambda kv: (kv[0][0], kv[0][1])):
            if cell != cell_id or (member is not None and m != member):
                continue
            target = t.lkg if t.probation and t.lkg is not None else t.previous
            if target is not None and target != t.current:
                out.append(RollbackDecision(cell, target, "manual"))
        return out


def rollback_actions(decisions: Iterable[RollbackDecision]) -> list[SlicePrbQuotaAction]:
    """Group decisions into one PRB quota action per cell."""
    per_cell: dict[str, list[RrmPolicy]] = {}
    for d in decisions:
        per_cell.setdefault(d.cell_id, []).append(d.restore)
    return [SlicePrbQuotaAction(cell, tuple(ps), Risk.LOW) for cell, ps in per_cell.items()]
