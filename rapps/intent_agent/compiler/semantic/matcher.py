"""Phrase -> concept with a calibrated confidence (the compiler's :class:`ConceptMatcher`).

Score of a concept = the highest cosine between the phrase and the concept's anchor phrases (``concepts.py``);
features = (best score, margin to the runner-up); confidence = logistic(w . features + b), fitted on the
development phrases of ``calibration.json`` by ``calibrate.py`` and stored in ``semantic.json``. Only a
confidence at or above the stored threshold is accepted.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rapps.intent_agent.compiler.concepts import CONCEPTS, ConceptMatch
from rapps.intent_agent.compiler.semantic.embedder import Embedder

CALIBRATION_PATH = Path(__file__).with_name("semantic.json")


@dataclass(frozen=True)
class Calibration:
    w_score: float
    w_margin: float
    bias: float
    threshold: float

    @staticmethod
    def load(path: Path = CALIBRATION_PATH) -> Calibration:
        c = json.loads(path.read_text(encoding="utf-8"))["calibration"]
        return Calibration(float(c["w_score"]), float(c["w_margin"]), float(c["bias"]), float(c["threshold"]))

    def confidence(self, score: float, margin: float) -> float:
        z = self.w_score * score + self.w_margin * margin + self.bias
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


class EmbeddingMatcher:
    """Concept matching for the slices of one scenario (``slices``) and the KPI concepts."""

    def __init__(self, embedder: Embedder, calibration: Calibration, slices: tuple[str, ...],
                 cache_size: int = 4096) -> None:
        self.embedder, self.calibration = embedder, calibration
        self.threshold = calibration.threshold
        self.concepts = [(k, v) for (k, v) in CONCEPTS if k != "slice" or v in slices]
        self._anchor_vecs: np.ndarray | None = None
        self._anchor_owner: np.ndarray | None = None
        self._cache: dict[str, np.ndarray] = {}
        self.cache_size = cache_size  #: phrase embeddings kept (0 = none)
        self.calls = 0  #: match() batches that reached the embedding step

    def _anchors(self) -> tuple[np.ndarray, np.ndarray]:
        if self._anchor_vecs is None or self._anchor_owner is None:
            texts, owner = [], []
            for i, c in enumerate(self.concepts):
                for p in CONCEPTS[c]:
                    texts.append(p)
                    owner.append(i)
            self._anchor_vecs = self.embedder.embed(texts)
            self._anchor_owner = np.asarray(owner)
        return self._anchor_vecs, self._anchor_owner

    def _vectors(self, phrases: list[str]) -> np.ndarray:
        self.calls += 1
        if self.cache_size <= 0:  # no cache: every phrase through the model (what the benchmark times)
            return self.embedder.embed(phrases) if phrases else np.zeros((0, Embedder.dim))
        todo = [p for p in dict.fromkeys(phrases) if p not in self._cache]
        if todo:
            for p, v in zip(todo, self.embedder.embed(todo), strict=True):
                if len(self._cache) >= self.cache_size:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[p] = v
        return np.stack([self._cache[p] for p in phrases]) if phrases else np.zeros((0, Embedder.dim))

    def scores(self, phrases: list[str], kinds: tuple[str, ...]) -> list[list[tuple[float, int]]]:
        """Per phrase: (score, concept index) of the concepts of ``kinds``, best first."""
        vecs, owner = self._anchors()
        sims = self._vectors(phrases) @ vecs.T  # (P, A)
        out = []
        for row in sims:
            best = [(float(row[owner == i].max()), i) for i, c in enumerate(self.concepts) if c[0] in kinds]
            best.sort(key=lambda x: (-x[0], x[1]))
            out.append(best)
        return out

    def match(self, phrases: list[str], kinds: tuple[str, ...]) -> list[ConceptMatch]:
        out = []
        for p, ranked in zip(phrases, self.scores(phrases, kinds), strict=True):
            if not ranked:
                out.append(ConceptMatch(p, kinds[0] if kinds else "", "", 0.0, False))
                continue
            (s1, i1) = ranked[0]
            s2 = ranked[1][0] if len(ranked) > 1 else 0.0
            conf = self.calibration.confidence(s1, s1 - s2)
            kind, value = self.concepts[i1]
            out.append(ConceptMatch(p, kind, value, round(conf, 4), conf >= self.threshold))
        return out


def default_matcher(slices: tuple[str, ...], threads: int = 1, cache_size: int = 4096) -> EmbeddingMatcher:
    """The shipped model and calibration (loads lazily: the ONNX session starts on the first match)."""
    return EmbeddingMatcher(Embedder(threads=threads), Calibration.load(), slices, cache_size)
