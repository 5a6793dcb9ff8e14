"""APER encode/decode of one pycrate type with the error discipline the codec promises: any failure becomes
:class:`~nextric.e2ap.errors.CodecError`, and pycrate's per-call codec state is restored after a failure (a
malformed PDU must leave nothing behind that could affect the next one)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from pycrate_asn1rt.codecs import ASN1CodecPER
from pycrate_core.charpy import Charpy

from nextric.e2ap.errors import CodecError


def aper_encode(obj: Any, value: Any) -> bytes:
    depth = len(ASN1CodecPER._off)
    try:
        obj.set_val(value)
        return bytes(obj.to_aper())
    except Exception as exc:  # pycrate raises its ASN1Err family, ValueError, TypeError, ...
        raise CodecError(f"cannot encode {obj._name}: {type(exc).__name__}: {exc}") from exc
    finally:
        del ASN1CodecPER._off[depth:]


def aper_decode(obj: Any, data: bytes, what: str, whole: bool = False) -> Any:
    """The value of ``obj`` decoded from ``data``; ``whole``: refuse trailing octets."""
    depth = len(ASN1CodecPER._off)
    try:
        char = Charpy(bytes(data))
        obj.from_aper(char)
        if whole and char.len_bit() >= 8:
            raise CodecError(f"{char.len_bit() // 8} octets left after the {what}")
        return obj.get_val()
    except CodecError:
        raise
    except Exception as exc:  # malformed input: every pycrate failure becomes a CodecError
        raise CodecError(f"not a {what}: {type(exc).__name__}: {exc}") from exc
    finally:
        del ASN1CodecPER._off[depth:]


P = ParamSpec("P")
R = TypeVar("R")


def structural(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a decoder that walks a decoded value: a value of an unexpected shape (an open type left as octets,
    a CHOICE outside the subset) becomes a :class:`CodecError` naming ``what``, like any other malformed input."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @wraps(fn)
        def decode(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except CodecError:
                raise
            except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
                raise CodecError(f"malformed {what}: {type(exc).__name__}: {exc}") from exc

        return decode

    return wrap
