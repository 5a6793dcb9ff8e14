"""Cheap functional updates of the core's frozen state records (hot path: several per sub-step).

:func:`dataclasses.replace` re-runs ``__init__`` over every field (tens of microseconds for a 20-field
record); :func:`evolve` copies the instance dictionary instead. Only for plain frozen dataclasses without
``__post_init__`` or ``__slots__`` (all state records of :mod:`testbed.core` are such).
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


def evolve(obj: T, **changes: Any) -> T:
    """A copy of the frozen dataclass ``obj`` with ``changes`` applied (fields must exist)."""
    d = obj.__dict__
    unknown = changes.keys() - d.keys()
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field(s) {sorted(unknown)}")
    new = object.__new__(type(obj))
    nd = new.__dict__
    nd.update(d)
    nd.update(changes)
    return new
