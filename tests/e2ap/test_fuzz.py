"""Fuzz the decoders: malformed, truncated or mutated PDUs give a CodecError (never another exception, never a hang),
and a failed decode leaves nothing behind that changes the next one."""

from __future__ import annotations

import contextlib
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nextric.e2ap import kpm, rc
from nextric.e2ap import pdu as e2
from nextric.e2ap.errors import CodecError

from .test_codec import PDUS, format1, format3, policies

SEEDS = [e2.encode(m) for m in PDUS] + [kpm.encode_message(format3(3)), rc.encode_slice_quota(policies(2))]
DECODERS = (e2.decode, kpm.decode_message, kpm.decode_header, rc.decode_slice_quota, rc.decode_header,
            kpm.decode_action_definition, rc.decode_function_definition, kpm.decode_function_description)
LIMIT_S = 2.0  # a decode of a few hundred octets that takes longer than this counts as a hang


def decode_all(data: bytes) -> None:
    for decode in DECODERS:
        t0 = time.perf_counter()
        with contextlib.suppress(CodecError):
            decode(data)
        assert time.perf_counter() - t0 < LIMIT_S, f"{decode.__qualname__} took too long on {data.hex()}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    decode_all(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS), st.data())
def test_mutated_and_truncated_pdus(seed: bytes, data: st.DataObject) -> None:
    buf = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(buf) - 1))
        buf[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(buf)))
    decode_all(bytes(buf))
    decode_all(bytes(buf[:cut]))


def test_a_failed_decode_does_not_disturb_the_next() -> None:
    good = e2.encode(PDUS[9])
    for junk in (b"", b"\x00", b"\xff" * 40, good[:-3], good[:5]):
        with contextlib.suppress(CodecError):
            e2.decode(junk)
        assert e2.decode(good) == PDUS[9]
    assert kpm.decode_message(kpm.encode_message(format1())) == format1()


def test_unknown_extension_in_a_recursive_rc_type_is_an_error_not_a_runaway() -> None:
    """Found by the fuzzer: pycrate's fullname() walked the circular parent links of the recursive RC types while
    logging an unknown CHOICE extension, allocating until the process died (guarded in pycrate_patch)."""
    data = bytes.fromhex(
        "00009c00006000014000030002440000000360000140000100052a000300f110000644000100072a00010100082a0003000001"
        "40000100052a000300f110000644000000072a00010900092880010a000a2880015a000b288001004000030002440000000360"
        "000140000100052a000300f110000644020100072a00010200082a000300000240000100052a000300f110000644000000072a"
        "00010900092880010b000a2880015a000b28800101")
    t0 = time.perf_counter()
    with pytest.raises(CodecError):
        rc.decode_slice_quota(data)
    assert time.perf_counter() - t0 < LIMIT_S
