"""BERT-uncased tokenisation for the embedding model (pure): lower-case, strip accents, split on whitespace and
punctuation, then greedy longest-match WordPiece against the model's vocabulary (``vocab.json``)."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

VOCAB_PATH = Path(__file__).with_name("vocab.json")


def _is_punct(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def basic_tokens(text: str) -> list[str]:
    """Lower-case, accents stripped, control characters dropped, punctuation split off."""
    text = unicodedata.normalize("NFD", text.lower())
    out: list[str] = []
    word: list[str] = []
    for ch in text:
        if unicodedata.category(ch) == "Mn":
            continue
        if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf"):
            if word:
                out.append("".join(word))
                word = []
        elif _is_punct(ch):
            if word:
                out.append("".join(word))
                word = []
            out.append(ch)
        else:
            word.append(ch)
    if word:
        out.append("".join(word))
    return out


class WordPiece:
    def __init__(self, tokens: list[str], max_chars: int = 100) -> None:
        self.ids = {t: i for i, t in enumerate(tokens)}
        self.unk, self.cls, self.sep, self.pad = (self.ids[t] for t in ("[UNK]", "[CLS]", "[SEP]", "[PAD]"))
        self.max_chars = max_chars

    @staticmethod
    def load(path: Path = VOCAB_PATH) -> WordPiece:
        return WordPiece(list(json.loads(path.read_text(encoding="utf-8"))["tokens"]))

    def word(self, w: str) -> list[int]:
        if len(w) > self.max_chars:
            return [self.unk]
        out: list[int] = []
        start = 0
        while start < len(w):
            end = len(w)
            piece = None
            while start < end:
                sub = w[start:end] if start == 0 else "##" + w[start:end]
                if sub in self.ids:
                    piece = self.ids[sub]
                    break
                end -= 1
            if piece is None:
                return [self.unk]
            out.append(piece)
            start = end
        return out

    def encode(self, text: str, max_len: int = 64) -> list[int]:
        """[CLS] pieces [SEP], truncated to ``max_len`` ids."""
        ids = [i for w in basic_tokens(text) for i in self.word(w)]
        return [self.cls, *ids[: max_len - 2], self.sep]
