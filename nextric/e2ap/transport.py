"""E2AP associations: SCTP where the kernel has it (one E2AP PDU per SCTP message, PPID 70 is left to the
kernel default), and TCP framing where it does not.

TCP framing (nextric's, for kernels without SCTP and for tests): every PDU is a 4-octet big-endian length
followed by that many octets of APER E2AP PDU. A length of 0 or above ``max_pdu_bytes`` is a framing error:
the association is closed (nothing can be re-synchronised on a byte stream).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from nextric.errors import ConfigError, UnavailableError, ValidationError

Transport = Literal["auto", "sctp", "tcp"]
_LEN = struct.Struct(">I")


class FramingError(ValidationError):
    """The peer broke the framing (oversized or empty PDU); the association cannot continue."""


class Association(Protocol):
    peer: str

    async def recv(self) -> bytes:
        """The next PDU; raises :class:`EOFError` when the peer closed."""

    async def send(self, data: bytes) -> None: ...

    async def close(self) -> None: ...


def sctp_available() -> bool:
    proto = getattr(socket, "IPPROTO_SCTP", None)
    if proto is None:
        return False
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto).close()
    except OSError:
        return False
    return True


def resolve(transport: Transport) -> Literal["sctp", "tcp"]:
    if transport == "auto":
        return "sctp" if sctp_available() else "tcp"
    if transport == "sctp" and not sctp_available():
        raise ConfigError("SCTP was asked for but this kernel has no SCTP (use transport tcp or auto)")
    return transport


@dataclass
class TcpFramed:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    max_pdu_bytes: int
    peer: str = ""

    async def recv(self) -> bytes:
        try:
            (n,) = _LEN.unpack(await self.reader.readexactly(4))
            if n == 0 or n > self.max_pdu_bytes:
                raise FramingError(f"framed PDU of {n} octets (limit {self.max_pdu_bytes})")
            return await self.reader.readexactly(n)
        except asyncio.IncompleteReadError as exc:
            raise EOFError("peer closed the association") from exc

    async def send(self, data: bytes) -> None:
        self.writer.write(_LEN.pack(len(data)) + data)
        await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, ConnectionError):
            await self.writer.wait_closed()


@dataclass
class SctpAssociation:
    sock: socket.socket
    max_pdu_bytes: int
    peer: str = ""

    async def recv(self) -> bytes:
        data = await asyncio.get_running_loop().sock_recv(self.sock, self.max_pdu_bytes + 1)
        if not data:
            raise EOFError("peer closed the association")
        if len(data) > self.max_pdu_bytes:
            raise FramingError(f"PDU over {self.max_pdu_bytes} octets")
        return data

    async def send(self, data: bytes) -> None:
        await asyncio.get_running_loop().sock_sendall(self.sock, data)

    async def close(self) -> None:
        self.sock.close()


@dataclass
class Listener:
    port: int
    transport: str
    _server: asyncio.base_events.Server | None = None
    _task: asyncio.Task[None] | None = None
    _sock: socket.socket | None = None

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._sock is not None:
            self._sock.close()


Handler = Callable[[Association], Coroutine[Any, Any, None]]


async def listen(host: str, port: int, transport: Transport, max_pdu_bytes: int, handler: Handler) -> Listener:
    """Accept E2AP associations on ``host:port`` (0 = a free port) and run ``handler`` for each."""
    kind = resolve(transport)
    if kind == "tcp":
        async def on_tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peer = writer.get_extra_info("peername")
            await handler(TcpFramed(reader, writer, max_pdu_bytes, f"{peer[0]}:{peer[1]}" if peer else "?"))

        server = await asyncio.start_server(on_tcp, host, port)
        return Listener(server.sockets[0].getsockname()[1], kind, _server=server)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen()
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    async def accept() -> None:
        while True:
            conn, addr = await loop.sock_accept(sock)
            conn.setblocking(False)
            assoc = SctpAssociation(conn, max_pdu_bytes, f"{addr[0]}:{addr[1]}")
            task: asyncio.Task[None] = asyncio.create_task(handler(assoc))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    return Listener(sock.getsockname()[1], kind, _task=asyncio.create_task(accept()), _sock=sock)


async def connect(host: str, port: int, transport: Transport, max_pdu_bytes: int) -> Association:
    kind = resolve(transport)
    try:
        if kind == "tcp":
            reader, writer = await asyncio.open_connection(host, port)
            return TcpFramed(reader, writer, max_pdu_bytes, f"{host}:{port}")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
        return SctpAssociation(sock, max_pdu_bytes, f"{host}:{port}")
    except OSError as exc:
        raise UnavailableError(f"cannot reach the E2 termination at {host}:{port} over {kind}: {exc}") from exc
