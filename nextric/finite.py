"""Numbers that may cross an edge into state: finite IEEE-754 doubles and I-JSON-safe integers (pure).

Python's ``json`` (like most JSON parsers) accepts ``NaN``, ``Infinity`` and ``-Infinity`` and turns ``1e400`` into
``inf``; such a value compares false with everything, survives schema bounds, poisons arithmetic and cannot be
written back as JSON. Integers beyond +-(2**53 - 1) are not exchanged exactly between JSON implementations
(RFC 7493, I-JSON, section 2.2) and overflow a float conversion. Every HTTP edge refuses both before anything is
stored (:class:`nextric.web.FiniteJsonRoute`); the services check again where they validate (A1 policy bodies,
structured intents), naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from nextric.errors import ValidationError

#: the largest integer a JSON number holds exactly everywhere (I-JSON, RFC 7493 section 2.2)
MAX_SAFE_INTEGER = 2**53 - 1

Path = tuple[str | int, ...]


def number_problem(value: object) -> str | None:
    """Why ``value`` cannot be stored as a JSON number (None: it can, or it is not a number at all)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN is not a number"
        if math.isinf(value):
            sign = "-" if value < 0 else ""
            return f"{sign}Infinity (or a literal beyond the double range, e.g. 1e400) is not finite"
        return None
    if isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
        return f"integer beyond +-{MAX_SAFE_INTEGER} (I-JSON safe range)"
    return None


def find_bad_number(value: Any) -> tuple[Path, str] | None:
    """The first number in a parsed JSON document (dicts, lists, tuples, scalars) that is not a finite double
    or an I-JSON-safe integer: (path to it, why); None when every number is fine. Iterative: deep documents do
    not exhaust the stack."""
    stack: list[tuple[Path, Any]] = [((), value)]
    while stack:
        path, v = stack.pop()
        if isinstance(v, Mapping):
            stack.extend(((*path, str(k)), x) for k, x in reversed(list(v.items())))
        elif isinstance(v, list | tuple):
            stack.extend(((*path, i), x) for i, x in reversed(list(enumerate(v))))
        else:
            why = number_problem(v)
            if why is not None:
                return path, why
    return None


def pointer(path: Path) -> str:
    """``("a", 0, "b")`` -> ``"a/0/b"`` (the way the services name fields in problem details); ``"(root)"``."""
    return "/".join(str(p) for p in path) or "(root)"


def require_finite(value: Any, where: str = "") -> None:
    """Raise :class:`ValidationError` naming the field when ``value`` holds a number :func:`find_bad_number`
    refuses; ``where`` prefixes the path (e.g. ``"body"``)."""
    found = find_bad_number(value)
    if found is not None:
        path, why = found
        name = pointer(((where,) if where else ()) + path)
        raise ValidationError(f"{name}: {why}; numbers must be finite")


def finite_float(value: object, where: str) -> float:
    """``value`` as a finite float (numbers and numeric strings), or :class:`ValidationError` naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValidationError(f"{where}: expected a number, got {type(value).__name__}")
    try:
        out = float(value)
    except (ValueError, OverflowError) as exc:
        raise ValidationError(f"{where}: {value!r} is not a number") from exc
    if not math.isfinite(out):
        raise ValidationError(f"{where}: {value!r} is not a finite number")
    return out
