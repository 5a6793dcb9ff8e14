"""A small curated knowledge base of standards facts (5QI table, SST values, PRB tables, RRMPolicyRatio, TS 28.312)
with Okapi BM25 retrieval (pure, no network). Passages cite the clause they come from; ``facts`` carries the
numbers the compiler checks against."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KB_PATH = Path(__file__).with_name("kb.json")
_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


@dataclass(frozen=True)
class Passage:
    id: str
    source: str
    title: str
    text: str
    facts: dict[str, Any]


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float


class KnowledgeBase:
    """BM25 (k1, b) over title + text of each passage."""

    def __init__(self, passages: list[Passage], k1: float = 1.5, b: float = 0.75) -> None:
        if not passages:
            raise ValueError("empty knowledge base")
        self.passages = passages
        self.k1, self.b = k1, b
        self._tf = [Counter(tokens(p.title + " " + p.text)) for p in passages]
        self._len = [sum(tf.values()) for tf in self._tf]
        self._avg = sum(self._len) / len(self._len)
        df: Counter[str] = Counter()
        for tf in self._tf:
            df.update(tf.keys())
        n = len(passages)
        self._idf = {t: math.log(1.0 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}

    @staticmethod
    def load(path: Path = KB_PATH) -> KnowledgeBase:
        raw = json.loads(path.read_text())
        return KnowledgeBase([Passage(r["id"], r["source"], r["title"], r["text"], r.get("facts", {})) for r in raw])

    def search(self, query: str, k: int = 3) -> list[Hit]:
        q = tokens(query)
        scored = []
        for i, tf in enumerate(self._tf):
            s = 0.0
            for t in q:
                f = tf.get(t, 0)
                if f:
                    norm = self.k1 * (1 - self.b + self.b * self._len[i] / self._avg)
                    s += self._idf[t] * f * (self.k1 + 1) / (f + norm)
            if s > 0:
                scored.append(Hit(self.passages[i], s))
        scored.sort(key=lambda h: (-h.score, h.passage.id))
        return scored[:k]

    def get(self, doc_id: str) -> Passage:
        for p in self.passages:
            if p.id == doc_id:
                return p
        raise KeyError(doc_id)
