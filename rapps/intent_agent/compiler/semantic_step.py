"""The semantic step: words the grammar does not know, matched to slice / KPI concepts by the embedding layer
(pure; the matcher is passed in). A confident match becomes a mention with a note saying so; an unsure one
becomes a question naming the phrase and the closest concept -- never a guess."""

from __future__ import annotations

import re

from rapps.intent_agent.compiler import lexicon as lx
from rapps.intent_agent.compiler.concepts import ConceptMatch, ConceptMatcher
from rapps.intent_agent.compiler.grammar import Clause, Findings, rebuild_frames
from rapps.intent_agent.compiler.mentions import Mention
from rapps.intent_agent.compiler.state import Build

_STOP = {"a", "an", "the", "and", "or", "to", "of", "for", "in", "on", "at", "by", "with", "is", "are", "be", "it",
         "its", "their", "our", "my", "this", "that", "these", "those", "please", "so", "as", "than", "then",
         "make", "sure", "must", "should", "would", "could", "can", "will", "we", "i", "you", "they", "them",
         "all", "every", "each", "any", "some", "much", "more", "less", "most", "least", "very", "too", "also",
         "not", "no", "do", "does", "did", "get", "got", "let", "from", "into", "over", "under", "above", "below",
         "about", "near", "around", "up", "down", "only", "just", "still", "even", "again", "slice", "slices",
         "level", "levels", "value", "target", "good", "better", "high", "low", "lower", "higher", "time", "now",
         "today", "tonight", "network", "traffic", "service", "services", "cell", "cells", "area", "zone",
         "while", "without", "unless", "when", "where", "which", "what", "who", "there", "here", "stay", "remain",
         "go", "goes", "going", "keep", "kept", "at most", "max", "min", "maximum", "minimum", "within",
         "exceed", "exceeds", "exceeding", "rise", "fall", "drop", "respectively", "percent", "ms", "mbps"}
_VERBS = lx.UP_VERBS | lx.DOWN_VERBS | lx.KEEP_VERBS | lx.PREPARE_VERBS


def leftover_phrases(low: str, c: Clause) -> list[str]:
    """Runs of content words of a clause that no mention covers (candidates for the semantic layer)."""
    masked = list(low[c.start:c.end])
    for m in c.mentions:
        for i in range(m.start - c.start, m.end - c.start):
            if 0 <= i < len(masked):
                masked[i] = " "
    words = re.findall(r"[a-z][a-z'\-]*|[^\sa-z]+", "".join(masked))
    runs: list[list[str]] = [[]]
    for w in words:
        if w in _STOP or w in _VERBS or not w[0].isalpha() or len(w) < 3:
            runs.append([])
        else:
            runs[-1].append(w)
    return [" ".join(r) for r in runs if r]


def resolve_unknowns(b: Build, fnd: Findings, matcher: ConceptMatcher) -> None:
    """Named objects and the leftover phrases of clauses that lack a slice or a KPI -> concepts."""
    queries: list[tuple[str, tuple[str, ...], Clause | None, Mention | None]] = []
    for m in fnd.of("object"):
        if m.value != "link":
            queries.append((m.text.lower(), ("slice",), None, m))
    for c in fnd.clauses:
        has_slice = any(m.kind == "slice" for m in c.mentions) or len(fnd.all_slices) == 1
        has_kpi = any(m.kind in ("kpi", "link") for m in c.mentions)
        has_q = any(m.kind == "quantity" for m in c.mentions)
        need: tuple[str, ...] = ()
        if not has_slice and (has_q or has_kpi):
            need += ("slice",)
        unit_says = any(m.kind == "quantity" and m.value.family in ("time", "rate") for m in c.mentions)
        share = any(w in c.text for w in lx.SHARE_WORDS)
        if not has_kpi and has_q and not unit_says and not share:
            need += ("kpi",)
        if need:
            queries += [(p, need, c, None) for p in leftover_phrases(fnd.low, c)]
    if not queries:
        return
    results = matcher.match([q[0] for q in queries], tuple(sorted({k for q in queries for k in q[1]})))
    solved = {(id(q[2]), r.kind) for q, r in zip(queries, results, strict=True) if r.accepted and q[2] is not None}
    for (phrase, kinds, clause, obj), r in zip(queries, results, strict=True):
        if r.kind not in kinds:
            continue
        if r.accepted:
            _accept(b, fnd, phrase, r, clause, obj)
        elif (id(clause), r.kind) in solved:
            continue  # another phrase of the clause already gave it its slice / KPI
        elif obj is not None:
            b.notes.append(f"'{phrase}': closest concept {r.value} ({r.kind}) at confidence {r.confidence:.2f}, "
                           f"below the threshold {matcher.threshold:.2f}")
        elif r.confidence >= 0.2:
            b.ask("low_confidence", f"I am not sure what '{phrase}' means here: the closest {r.kind} is {r.value}, "
                  f"with confidence {r.confidence:.2f} (below {matcher.threshold:.2f}).",
                  f"Did you mean {r.value} by '{phrase}'?")


def _accept(b: Build, fnd: Findings, phrase: str, r: ConceptMatch, clause: Clause | None, obj: Mention | None) -> None:
    how = f"semantic match {r.value} (confidence {r.confidence:.2f})"
    b.notes.append(f"read '{phrase}' as {r.value} ({r.kind}; embedding layer, confidence {r.confidence:.2f})")
    if obj is not None:
        obj.kind, obj.value, obj.how = ("slice", (r.value,), how) if r.kind == "slice" else ("kpi", r.value, how)
        return
    assert clause is not None
    pos = fnd.low.find(phrase, clause.start, clause.end)
    if pos < 0:
        return
    m = Mention(r.kind, pos, pos + len(phrase), fnd.text[pos:pos + len(phrase)],
                (r.value,) if r.kind == "slice" else r.value, how)
    fnd.mentions.append(m)
    fnd.mentions.sort(key=lambda x: x.start)
    clause.mentions.append(m)
    clause.mentions.sort(key=lambda x: x.start)
    rebuild_frames(fnd.low, clause)
