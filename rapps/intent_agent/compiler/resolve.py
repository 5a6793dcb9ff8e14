"""Services, customers, SST values and 5QI rows -> the scenario's slices, through the knowledge base (pure).

The catalogue passages (``ops-services``, ``ops-tenants``) name what each slice carries; SST values and 5QI
rows (TS 23.501) resolve through the scenario's S-NSSAIs. A name that maps to several slices stays ambiguous:
the compiler asks instead of picking one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapps.intent_agent.compiler.domain import Domain
from rapps.intent_agent.compiler.kb import KnowledgeBase


@dataclass(frozen=True)
class NameHit:
    start: int
    end: int
    phrase: str
    slices: tuple[str, ...]  #: one = resolved; several = ambiguous
    doc_id: str  #: the passage that says so
    how: str  #: service | tenant | sst | 5qi


class SliceNames:
    """Phrase -> slice index built from the knowledge base for one domain."""

    def __init__(self, domain: Domain, kb: KnowledgeBase) -> None:
        self.domain = domain
        names = set(domain.slice_names())
        self.phrases: list[tuple[str, str, str, str]] = []  #: (phrase, slice, doc id, how), longest first
        for doc_id, key, how in (("ops-services", "services", "service"), ("ops-tenants", "tenants", "tenant")):
            try:
                facts = kb.get(doc_id).facts.get(key, {})
            except KeyError:
                continue
            pairs = [(p, s) for s, ps in facts.items() for p in ps] if how == "service" else list(facts.items())
            self.phrases += [(p.lower(), s, doc_id, how) for p, s in pairs if s in names]
        self.phrases.sort(key=lambda x: -len(x[0]))
        self._qi = {int(p.facts["qi"]): (p.id, str(p.facts.get("resource", ""))) for p in kb.passages
                    if "qi" in p.facts}
        self._pattern = re.compile(r"\b(" + "|".join(re.escape(p) for p, *_ in self.phrases) + r")(?:e?s)?\b"
                                   if self.phrases else r"(?!x)x")

    def by_sst(self, sst: int) -> tuple[str, ...]:
        return tuple(s.name for s in self.domain.slices if s.sst == sst)

    def find(self, low: str) -> list[NameHit]:
        """Catalogue phrases, tenants, ``SST n`` and ``5QI n`` in ``low`` (non-overlapping, text order)."""
        hits: list[NameHit] = []
        for m in self._pattern.finditer(low):
            phrase = m.group(1)
            _, s, doc, how = next(x for x in self.phrases if x[0] == phrase)
            hits.append(NameHit(m.start(), m.end(), m.group(0), (s,), doc, how))
        for m in re.finditer(r"\b(?:sst|slice/service type|slice type)\s*(?:=|:)?\s*(\d+)\b", low):
            hits.append(NameHit(m.start(), m.end(), m.group(0), self.by_sst(int(m.group(1))), "ts23501-sst", "sst"))
        for m in re.finditer(r"\b5qi\s*(?:=|:)?\s*(\d+)\b", low):
            qi = int(m.group(1))
            doc, resource = self._qi.get(qi, ("ts23501-5qi-9", ""))
            if qi not in self._qi:
                hits.append(NameHit(m.start(), m.end(), m.group(0), (), doc, "5qi"))
                continue
            sst = 2 if resource.lower().startswith("delay-critical") else 1
            hits.append(NameHit(m.start(), m.end(), m.group(0), self.by_sst(sst), doc, "5qi"))
        hits.sort(key=lambda h: h.start)
        out: list[NameHit] = []
        for h in hits:
            if not out or h.start >= out[-1].end:
                out.append(h)
        return out
