"""A guard around pycrate's APER encoder state for recursive ASN.1 types.

pycrate encodes a constructed value by assigning each component's value to the component's (shared) type
object and encoding it. A recursive type (E2SM-RC's RANParameter-ValueType -> STRUCTURE -> items ->
ValueType ...) reuses the same objects at every depth, so encoding a nested level overwrites the value of
the enclosing level that is still being encoded, and the outer loop then reads the inner value (pycrate
0.8.1 fails with an IndexError or writes wrong bytes on deeply nested RC messages). The guard keeps, per
type object, the values of the encodings in progress and gives the enclosing one its value back when a
nested one ends. Decoding is not affected (pycrate builds decoded values in locals).

The same sharing makes the parent links of recursive types circular after a decode, and pycrate's
``fullname()`` (used in its log and error messages, e.g. on an unknown CHOICE extension in a malformed PDU)
then walks the cycle for ever, allocating until the process dies. The second guard stops the walk at the
first object seen twice.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from pycrate_asn1rt.asnobj import ASN1Obj
from pycrate_asn1rt.asnobj_construct import CHOICE, SEQ, SEQ_OF, SET, SET_OF

_STACK = "_nextric_encoding_stack"


def _guarded(method: Callable[[Any], Any]) -> Callable[[Any], Any]:
    @wraps(method)
    def encode(self: Any) -> Any:
        stack: list[Any] = self.__dict__.setdefault(_STACK, [])
        stack.append(self._val)
        try:
            return method(self)
        finally:
            stack.pop()
            if stack:
                self._val = stack[-1]

    encode._nextric_guarded = True  # type: ignore[attr-defined]
    return encode


def _fullname(self: Any) -> str:
    names = [self._name]
    seen = {id(self)}
    obj = self._parent
    while obj is not None and id(obj) not in seen:
        seen.add(id(obj))
        names.append(obj._name)
        obj = obj._parent
    return ".".join(reversed(names))


def apply() -> None:
    """Install both guards on pycrate (idempotent)."""
    for cls in (CHOICE, SEQ, SEQ_OF, SET, SET_OF):
        for name in ("_to_per", "_to_per_ws"):
            method = getattr(cls, name)
            if not getattr(method, "_nextric_guarded", False):
                setattr(cls, name, _guarded(method))
    ASN1Obj.fullname = _fullname
