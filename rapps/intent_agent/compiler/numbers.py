"""Numbers as operators write them -> digits the grammar reads (pure).

Cardinals in words ("twenty-five", "one hundred and fifty", "two point five"), fractions ("a fifth", "two
thirds", "half of"), ratios ("one packet in a thousand"), durations ("half an hour", "an hour and a half"),
multiples ("twice", "three times", "3-fold") and scientific forms ("10^-4") are rewritten to digits with their
unit; each rewrite is reported as a note so the operator can see what was read.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
          "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
          "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
#: denominators of fractions in words
_FRACTIONS = {"half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4, "fourth": 4,
              "fourths": 4, "fifth": 5, "fifths": 5, "sixth": 6, "eighth": 8, "tenth": 10, "tenths": 10,
              "hundredth": 100, "hundredths": 100, "thousandth": 1000, "thousandths": 1000}
_MULTIPLES = {"twice": 2, "thrice": 3, "double": 2, "triple": 3, "quadruple": 4, "twofold": 2, "threefold": 3,
              "fourfold": 4, "tenfold": 10}
_NUMWORD = "|".join(sorted([*_UNITS, *_TENS, *_SCALES, "point"], key=len, reverse=True))
#: a run of number words ("one hundred and twenty-five", "two point five")
_FIRST = "|".join(sorted([*_UNITS, *_TENS], key=len, reverse=True))
_RUN = re.compile(rf"\b(?:{_FIRST}|a\s+hundred|a\s+thousand)\b"
                  rf"(?:(?:\s+|-)(?:{_NUMWORD})\b|(?:(?<=hundred)|(?<=thousand))\s+and\s+(?:{_FIRST})\b)*", re.I)
_NUM = r"\d+(?:\.\d+)?"
_FRAC_WORD = "|".join(sorted(_FRACTIONS, key=len, reverse=True))

Rewrite = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _fmt(v: float) -> str:
    return f"{v:.4g}" if abs(v - round(v)) > 1e-9 else str(round(v))


def _pct(v: float) -> str:
    return f"{_fmt(round(100 * v, 2))} %"


def _words_value(words: str) -> float | None:
    """'one hundred and twenty-five' -> 125; 'two point five' -> 2.5; None if not a number."""
    toks = [t for t in re.split(r"[\s\-]+", words.lower()) if t and t != "and"]
    if not toks:
        return None
    if "point" in toks:
        i = toks.index("point")
        whole = _words_value(" ".join(toks[:i])) if i else 0.0
        digits = [_UNITS.get(t) for t in toks[i + 1:]]
        if whole is None or not digits or any(d is None or d > 9 for d in digits):
            return None
        return whole + float("0." + "".join(str(d) for d in digits))
    total, cur, seen = 0.0, 0.0, False
    for t in toks:
        if t in ("a", "an"):
            cur = max(cur, 1.0)
        elif t in _UNITS:
            cur += _UNITS[t]
            seen = True
        elif t in _TENS:
            cur += _TENS[t]
            seen = True
        elif t in _SCALES:
            cur = max(cur, 1.0) * _SCALES[t]
            if _SCALES[t] >= 1000:
                total, cur = total + cur, 0.0
            seen = True
        else:
            return None
    return total + cur if seen else None


def _fraction(num: str, den: str) -> float:
    n = 1.0 if num.lower() in ("a", "an", "one") else float(_words_value(num) or num)
    return n / _FRACTIONS[den.lower()]


#: rewrites applied in order; durations and fractions before bare cardinals
_REWRITES: list[Rewrite] = [
    (re.compile(r"\bhalf\s+an?\s+hour\b", re.I), lambda m: "30 minutes"),
    (re.compile(r"\ba\s+quarter\s+of\s+an\s+hour\b", re.I), lambda m: "15 minutes"),
    (re.compile(rf"\b(an?|one|{_NUM})\s+hours?\s+and\s+a\s+half\b", re.I),
     lambda m: f"{_fmt((1.0 if not m.group(1)[0].isdigit() else float(m.group(1))) + 0.5)} hours"),
    (re.compile(rf"\b({_NUM}|one|two|three|four|five|six)\s+and\s+a\s+half\s+hours?\b", re.I),
     lambda m: f"{_fmt(float(_words_value(m.group(1)) or m.group(1)) + 0.5)} hours"),
    (re.compile(r"\ban\s+hour\b", re.I), lambda m: "1 hour"),
    (re.compile(r"\bper\s*mille\b|‰", re.I), lambda m: " permille"),
    # "one packet in a thousand", "1 in 10000", "one out of a hundred"
    (re.compile(rf"\b(one|an?|{_NUM})\s+(?:packets?\s+|frames?\s+)?(?:in|out\s+of)\s+(?:every\s+)?"
                rf"({_NUM})\b(?!\s*(?:ms|%|mb|gb|kb|s\b))",
                re.I), lambda m: _in_ratio(m)),
    # fractions: "two thirds of", "a fifth", "by half", "in half", "half of"
    (re.compile(rf"\b(a|an|one|two|three|four|five|seven|nine|{_NUM})[\s\-]+({_FRAC_WORD})\b", re.I),
     lambda m: _pct(_fraction(m.group(1), m.group(2))) if m.group(2).lower() != "half" or
     m.group(1).lower() in ("a", "one") else m.group(0)),
    (re.compile(r"\b(by|in|to)\s+half\b", re.I), lambda m: f"{'to' if m.group(1).lower() == 'to' else 'by'} 50 %"),
    (re.compile(r"\bhalf\s+(?:of\s+)?(?=the\b|its\b|their\b|cell\b|what\b)", re.I), lambda m: "50 % of "),
    # multiples: "three times", "3x", "x3", "3-fold", "twice"
    (re.compile(rf"\b({_NUM})\s*(?:-\s*)?fold\b", re.I), lambda m: f"{m.group(1)}x"),
    (re.compile(rf"\bx\s?({_NUM})\b", re.I), lambda m: f"{m.group(1)}x"),
    (re.compile(r"\b(twice|thrice|twofold|threefold|fourfold|tenfold)\b", re.I),
     lambda m: f"{_MULTIPLES[m.group(1).lower()]}x"),
    # scientific forms
    (re.compile(r"\b10\s*\^\s*\(?\s*-\s*(\d+)\s*\)?", re.I), lambda m: f"1e-{m.group(1)}"),
]


def _in_ratio(m: re.Match[str]) -> str:
    a = 1.0 if m.group(1).lower() in ("one", "a", "an") else float(m.group(1))
    den = float(m.group(2))
    return _pct(a / den) if den >= a and den > 0 else m.group(0)


def _cardinals(text: str, notes: list[str]) -> str:
    def sub(m: re.Match[str]) -> str:
        words = m.group(0)
        # drop a trailing connective the run swallowed ("five and" in "five and ten")
        trail = re.search(r"(?:[\s\-]+(?:and|a|an|point))+$", words, re.I)
        core = words[: trail.start()] if trail else words
        v = _words_value(core)
        if v is None:
            return words
        after_cell = re.search(r"\b(?:cells?|sites?)\s*$", text[: m.start()], re.I) is not None
        if core.lower() == "one" and not after_cell and not _measure_follows(text, m.start() + len(core)):
            return words  # "one of the slices", "this one": a pronoun, not a number
        notes.append(f"read '{core}' as {_fmt(v)}")
        return _fmt(v) + words[len(core):]

    return _RUN.sub(sub, text)


_MEASURE = re.compile(r"\s*(?:-\s*)?(?:%|per|percent|ms|milli|micro|sec|second|minute|min\b|hour|hr|h\b|mb|gb|kb|"
                      r"mbit|gbit|kbit|in\b|out\b|x\b|times|fold|and\s+a\s+half|ue|user|site|cell\b|cells\b)", re.I)


def _measure_follows(text: str, end: int) -> bool:
    return _MEASURE.match(text, end) is not None


def normalise_numbers(text: str) -> tuple[str, list[str]]:
    """Rewrite number words, fractions, ratios, durations and multiples to digits; returns (text, notes)."""
    notes: list[str] = []
    out = _cardinals(text, notes)
    for pat, repl in _REWRITES:
        def wrapped(m: re.Match[str], repl: Callable[[re.Match[str]], str] = repl) -> str:
            new = repl(m)
            if new.strip() != m.group(0).strip():
                notes.append(f"read '{m.group(0).strip()}' as {new.strip()}")
            return new

        out = pat.sub(wrapped, out)
    out = re.sub(r"(?<=\d),(?=\d{3}\b)", "", out)  # thousands separators: 20,000 -> 20000
    return out, notes
