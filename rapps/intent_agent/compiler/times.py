"""Time phrases -> a daily time window (label, start HH:MM, end HH:MM), against the agent's clock (pure).

Absolute ranges ("18:00-22:00", "from 6 pm to 10 pm", "between 7 and 9 am"), named windows (evening, morning,
business hours, ...), open ends ("after 9 pm", "until midnight", "before 7 am") and relative ones ("for the
next two hours", "in 30 minutes for an hour", "for the rest of the evening") resolved against ``now``. Dates
("tomorrow", "on Saturday") cannot be a daily window: they come back as unsupported so the compiler asks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapps.intent_agent.compiler import lexicon as lx


@dataclass(frozen=True)
class TimeFind:
    start: int  #: span in the text
    end: int
    label: str
    window: tuple[str, str] | None  #: (HH:MM, HH:MM); None = could not be resolved
    problem: str | None = None  #: why not: "needs_clock" | "date" | "open"


_AMPM = r"(?:\s*(am|pm|a\.m\.|p\.m\.|h))?"
_CLOCK = rf"(\d{{1,2}})(?::(\d{{2}}))?{_AMPM}"
_RANGE = re.compile(rf"\b(?:from|between)\s+{_CLOCK}\s*(?:to|and|-|–|until|till)\s+{_CLOCK}", re.I)
_DASH = re.compile(rf"\b{_CLOCK}\s*(?:-|–|to)\s*{_CLOCK}(?=\W|$)", re.I)
_HHMM_DASH = re.compile(r"\b(\d{1,2}):(\d{2})\s*(?:-|–|to)\s*(\d{1,2}):(\d{2})\b")
_POINT = r"(midnight|noon|midday|" + _CLOCK + ")"
_OPEN = re.compile(rf"\b(after|from|starting(?:\s+at)?|until|till|before|up\s+to|by)\s+{_POINT}", re.I)
_NEXT = re.compile(r"\b(?:for|over|during|within)\s+(?:the\s+)?(?:next|coming|following)\s+(\d+(?:\.\d+)?)?\s*"
                   r"(minutes?|mins?|hours?|hrs?|h)\b", re.I)
_FOR = re.compile(r"\bfor\s+(\d+(?:\.\d+)?)\s*(minutes?|mins?|hours?|hrs?|h)\b", re.I)
_IN = re.compile(r"\b(?:in|starting\s+in|from)\s+(\d+(?:\.\d+)?)\s*(minutes?|mins?|hours?|hrs?|h)(?:\s+from\s+now)?\b",
                 re.I)
_REST = re.compile(r"\b(?:for\s+)?the\s+rest\s+of\s+the\s+(evening|day|night|morning|afternoon)\b", re.I)
_DATE = re.compile(r"\b(tomorrow|yesterday|next\s+week|this\s+weekend|weekends?|on\s+(?:monday|tuesday|wednesday|"
                   r"thursday|friday|saturday|sunday)s?|(?:monday|tuesday|wednesday|thursday|friday|saturday|"
                   r"sunday)s?|(?:for|over)\s+(?:the\s+next\s+)?\d+\s+(?:days?|weeks?|months?))\b", re.I)
_DAYS = re.compile(r"\b(?:for|over|during)\s+(?:the\s+next\s+)?(\d+)\s+(days?|weeks?)\b", re.I)


def hhmm(h: str, m: str | None, ampm: str | None) -> str:
    hour = int(h) % 24
    a = (ampm or "").lower().replace(".", "")
    if a == "pm" and hour < 12:
        hour += 12
    if a == "am" and hour == 12:
        hour = 0
    return f"{hour:02d}:{int(m or 0):02d}"


def _point(m: re.Match[str], base: int) -> str:
    word = (m.group(base) or "").lower()
    if word == "midnight":
        return "00:00"
    if word in ("noon", "midday"):
        return "12:00"
    return hhmm(m.group(base + 1), m.group(base + 2), m.group(base + 3))


def _minutes(hm: str) -> int:
    h, m = hm.split(":")
    return int(h) * 60 + int(m)


def _clock(minutes: float) -> str:
    v = round(minutes) % (24 * 60)
    return f"{v // 60:02d}:{v % 60:02d}"


def _dur_min(value: str | None, unit: str) -> float:
    v = float(value) if value else 1.0
    return v * (60.0 if unit.lower().startswith("h") else 1.0)


def find_times(low: str, now: str | None) -> list[TimeFind]:
    """Time phrases in ``low`` (lower-case, numbers already in digits), in text order, non-overlapping."""
    out: list[TimeFind] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in taken)

    def add(a: int, b: int, label: str, window: tuple[str, str] | None, problem: str | None = None) -> None:
        if free(a, b):
            taken.append((a, b))
            out.append(TimeFind(a, b, label, window, problem))

    for m in _DATE.finditer(low):
        add(m.start(), m.end(), m.group(0), None, "date")
    for m in _RANGE.finditer(low):
        a1, a2 = m.group(3), m.group(6)
        if a1 or a2 or m.group(2) or m.group(5):
            add(m.start(), m.end(), "window", (hhmm(m.group(1), m.group(2), a1 or a2), hhmm(m.group(4), m.group(5),
                                                                                              a2)))
    for m in _HHMM_DASH.finditer(low):
        add(m.start(), m.end(), "window", (hhmm(m.group(1), m.group(2), None), hhmm(m.group(3), m.group(4), None)))
    for m in _DASH.finditer(low):
        if m.group(3) or m.group(6):  # "6-10 pm" needs an am/pm to be a time at all
            add(m.start(), m.end(), "window", (hhmm(m.group(1), m.group(2), m.group(3) or m.group(6)),
                                               hhmm(m.group(4), m.group(5), m.group(6))))
    for m in _REST.finditer(low):
        end = {"evening": "22:00", "day": "00:00", "night": "06:00", "morning": "12:00", "afternoon": "18:00"}
        if now is None:
            add(m.start(), m.end(), m.group(0), None, "needs_clock")
        else:
            add(m.start(), m.end(), f"rest of the {m.group(1)}", (now, end[m.group(1).lower()]))
    relative: list[tuple[int, int, float | None, float | None]] = []  #: (start, end, offset min, duration min)
    for m in _NEXT.finditer(low):
        relative.append((m.start(), m.end(), 0.0, _dur_min(m.group(1), m.group(2))))
    for m in _IN.finditer(low):
        relative.append((m.start(), m.end(), _dur_min(m.group(1), m.group(2)), None))
    for m in _FOR.finditer(low):
        relative.append((m.start(), m.end(), None, _dur_min(m.group(1), m.group(2))))
    relative.sort()
    merged: list[tuple[int, int, float | None, float | None]] = []
    for r in relative:  # "in 30 minutes for 2 hours": one window
        if merged and r[0] - merged[-1][1] <= 5 and (merged[-1][2] is None) != (r[2] is None):
            prev = merged.pop()
            merged.append((prev[0], r[1], prev[2] if prev[2] is not None else r[2],
                           prev[3] if prev[3] is not None else r[3]))
        elif not merged or r[0] >= merged[-1][1]:
            merged.append(r)
    for a, b, off, dur in merged:
        if dur is not None and dur >= 24 * 60:
            add(a, b, low[a:b], None, "date")
        elif now is None:
            add(a, b, low[a:b], None, "needs_clock")
        elif dur is None:  # "in 30 minutes": from then on, for the rest of the day
            begin = _clock(_minutes(now) + (off or 0.0))
            add(a, b, f"from {begin}", (begin, "00:00") if begin != "00:00" else (begin, "06:00"))
        else:
            t0 = _minutes(now) + (off or 0.0)
            add(a, b, low[a:b].strip(), (_clock(t0), _clock(t0 + dur)))
    for m in _OPEN.finditer(low):
        word = m.group(1).lower()
        if not (m.group(4) or m.group(5) or m.group(2).lower() in ("midnight", "noon", "midday")):
            continue  # "by 15", "until 10": no clock time without minutes or am/pm
        point = _point(m, 2)
        if word in ("after", "from") or word.startswith("starting"):
            add(m.start(), m.end(), m.group(0), (point, "00:00") if point != "00:00" else (point, "06:00"))
        elif now is None:
            add(m.start(), m.end(), m.group(0), None, "needs_clock")
        else:
            add(m.start(), m.end(), m.group(0), (now, point))
    for word, (w_start, w_end) in lx.WINDOWS.items():
        for m in re.finditer(rf"\b{word}\b(?!\s+(?:cost\s+)?baseline)", low):
            if word == "daytime" and not re.search(r"\b(?:during|in|over|for)\s+(?:the\s+)?daytime\b", low):
                continue
            label = f"{word} peak" if word in ("evening", "morning") else word
            add(m.start(), m.end(), label, (w_start, w_end))
    out.sort(key=lambda t: t.start)
    return out


def combine(finds: list[TimeFind]) -> tuple[str, str, str] | None:
    """One window from the resolved finds: an open end ("after 20:00") closes with a later bound ("until 23:00")."""
    ok = [f for f in finds if f.window is not None]
    if not ok:
        return None
    first = ok[0]
    assert first.window is not None
    if len(ok) >= 2 and ok[1].window is not None and first.window[1] == "00:00" and \
            re.match(r"(?:after|from|starting)", first.label):
        return ("window", first.window[0], ok[1].window[1])
    return (first.label, first.window[0], first.window[1])
