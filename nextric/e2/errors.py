"""E2 failures: an E2AP cause plus the gRPC status it travels as.

A node raises :class:`E2Failure`; the servicer turns it into a non-OK gRPC status whose binary trailing
metadata ``nextric-e2-failure-bin`` carries a serialized ``RicFailure`` (cause group + E2AP value name);
the client turns that back into :class:`E2Failure`. Nothing else crosses the wire.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import grpc

from nextric.e2.v1 import e2ap_pb2
from nextric.errors import (
    ConflictError,
    NextricError,
    NotFoundError,
    ResourceExhaustedError,
    UnavailableError,
    ValidationError,
)

FAILURE_METADATA_KEY = "nextric-e2-failure-bin"

_STATUS_FOR: list[tuple[type[NextricError], grpc.StatusCode]] = [
    (NotFoundError, grpc.StatusCode.NOT_FOUND),
    (ValidationError, grpc.StatusCode.INVALID_ARGUMENT),
    (ConflictError, grpc.StatusCode.ALREADY_EXISTS),
    (ResourceExhaustedError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (UnavailableError, grpc.StatusCode.UNAVAILABLE),
]


class E2Failure(NextricError):
    """A refused E2 request: E2AP cause group + value name, human detail, and the gRPC status code."""

    def __init__(self, code: grpc.StatusCode, group: int, value: str, detail: str) -> None:
        super().__init__(f"{value}: {detail}")
        self.code = code
        self.group = group
        self.value = value
        self.detail = detail

    def to_proto(self) -> e2ap_pb2.RicFailure:
        return e2ap_pb2.RicFailure(cause=e2ap_pb2.Cause(group=self.group, value=self.value), detail=self.detail)  # type: ignore[arg-type]

    @classmethod
    def from_error(cls, err: NextricError, value: str = "unspecified") -> E2Failure:
        """Wrap a runtime error raised by a node backend, keeping its status mapping."""
        if isinstance(err, E2Failure):
            return err
        code = next((c for kind, c in _STATUS_FOR if isinstance(err, kind)), grpc.StatusCode.INTERNAL)
        return cls(code, e2ap_pb2.CAUSE_GROUP_RIC_REQUEST, value, str(err))


def invalid(value: str, detail: str) -> E2Failure:
    """INVALID_ARGUMENT with a RIC-request cause (e.g. ``control-message-invalid``)."""
    return E2Failure(grpc.StatusCode.INVALID_ARGUMENT, e2ap_pb2.CAUSE_GROUP_RIC_REQUEST, value, detail)


def protocol_error(detail: str) -> E2Failure:
    """INVALID_ARGUMENT for a message that does not parse (E2AP protocol cause)."""
    return E2Failure(grpc.StatusCode.INVALID_ARGUMENT, e2ap_pb2.CAUSE_GROUP_PROTOCOL, "transfer-syntax-error", detail)


def not_found(value: str, detail: str) -> E2Failure:
    return E2Failure(grpc.StatusCode.NOT_FOUND, e2ap_pb2.CAUSE_GROUP_RIC_REQUEST, value, detail)


def exhausted(value: str, detail: str) -> E2Failure:
    return E2Failure(grpc.StatusCode.RESOURCE_EXHAUSTED, e2ap_pb2.CAUSE_GROUP_RIC_REQUEST, value, detail)


def failure_from_rpc_error(err: grpc.aio.AioRpcError) -> E2Failure:
    """Rebuild the node's E2Failure from a gRPC error (a plain status when no cause travelled)."""
    trailing = cast(Sequence[tuple[str, str | bytes]], err.trailing_metadata() or ())
    for key, value in trailing:
        if key == FAILURE_METADATA_KEY and isinstance(value, bytes):
            proto = e2ap_pb2.RicFailure.FromString(value)
            return E2Failure(err.code(), proto.cause.group, proto.cause.value, proto.detail)
    return E2Failure(err.code(), e2ap_pb2.CAUSE_GROUP_MISC, "unspecified", err.details() or "")
