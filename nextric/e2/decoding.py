"""Strict request decoding for the services that share the E2 server's port (transport, twin, evaluation, health).

gRPC's generated ``add_*Servicer_to_server`` decode requests with ``Message.FromString``; bytes that do not parse
make grpc answer UNKNOWN with a Python exception text. :func:`register_strict` hands the generated function a
stand-in for the server that rewrites each unary-request method: the request is decoded by a parser that cannot
raise, and one that does not decode is answered INVALID_ARGUMENT naming the message type, before the servicer runs.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import grpc
from google.protobuf.message import DecodeError


@dataclass(frozen=True)
class Undecodable:
    """A request whose bytes did not decode (in place of the message)."""

    detail: str


def _lenient(parse: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    owner = getattr(parse, "__self__", None)
    name = owner.DESCRIPTOR.full_name if owner is not None and hasattr(owner, "DESCRIPTOR") else "the request"

    def decode(data: bytes) -> Any:
        try:
            return parse(data)
        except (DecodeError, ValueError) as exc:  # protobuf raises either
            return Undecodable(f"cannot decode {name}: {exc}")

    return decode


def _strict(handler: Any) -> Any:
    """``handler``: a ``grpc.RpcMethodHandler`` (a named tuple; typed loosely, grpc's stubs disagree on its shape)."""
    if handler.request_streaming or handler.request_deserializer is None:
        return handler  # none of the shared services streams requests; left as generated
    if handler.response_streaming:
        stream = handler.unary_stream

        async def unary_stream(request: Any, context: Any) -> AsyncIterator[Any]:
            if isinstance(request, Undecodable):
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.detail)
            result = stream(request, context)
            if inspect.isasyncgen(result):
                async for item in result:
                    yield item
            elif inspect.isawaitable(result):  # writes with context.write and returns nothing
                await result

        return handler._replace(request_deserializer=_lenient(handler.request_deserializer),
                                unary_stream=unary_stream)
    unary = handler.unary_unary

    async def unary_unary(request: Any, context: Any) -> Any:
        if isinstance(request, Undecodable):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.detail)
        result = unary(request, context)
        return await result if inspect.isawaitable(result) else result

    return handler._replace(request_deserializer=_lenient(handler.request_deserializer),
                            unary_unary=unary_unary)


class _StrictRegistrar:
    """What a generated ``add_*Servicer_to_server`` sees as the server."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server
        self.registered: list[str] = []

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        """Dropped: :meth:`add_registered_method_handlers` registers the strict handlers both ways."""

    def add_registered_method_handlers(self, service: str, handlers: Mapping[str, Any]) -> None:
        strict = {method: _strict(h) for method, h in handlers.items()}
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, strict),))
        cast(Any, self._server).add_registered_method_handlers(service, strict)  # missing from grpc's stubs
        self.registered.append(service)


def register_strict(server: grpc.aio.Server, register: Callable[[Any], None]) -> None:
    """Run a generated registrar (``lambda s: add_XServicer_to_server(servicer, s)``) with strict decoding."""
    stand_in = _StrictRegistrar(server)
    register(stand_in)
    if not stand_in.registered:  # generated code of a grpcio without add_registered_method_handlers
        raise RuntimeError("the registrar registered no service through add_registered_method_handlers")
