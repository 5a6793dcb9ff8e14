"""SSRF guard for A1 ``notificationDestination``: the service POSTs status updates to a URI a client chose, so it
must not become a way into the hosts only it can reach (cloud metadata at 169.254.169.254, Redis on loopback,
cluster-internal services).

A destination is refused unless every address its host resolves to is public. Link-local, unspecified,
multicast and reserved addresses are refused always; loopback, private (RFC 1918, unique-local fc00::/7),
shared (100.64.0.0/10) and the other non-global ranges only unless ``allow_private`` is set. Networks in
``allow_networks`` are allowed whatever their kind (an SMO inside the cluster: list its CIDR). The check runs when
the policy is written (400 naming the field) and again before every notification (a name that later resolves
elsewhere, DNS rebinding, is not followed).

Resolution goes through a :class:`Resolver`: :class:`DnsResolver` (the system resolver) or
:class:`StaticResolver` (a fixed table, in process).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from nextric.errors import ValidationError

FIELD = "notificationDestination"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[str]:
        """Every address ``host`` resolves to (numeric strings); raise :class:`OSError` when it does not."""
        ...


class DnsResolver:
    """The system resolver (``getaddrinfo``, so ``/etc/hosts`` and numeric forms such as ``2130706433`` count),
    bounded by ``timeout_s``."""

    def __init__(self, timeout_s: float = 2.0) -> None:
        self._timeout = timeout_s

    async def resolve(self, host: str, port: int) -> list[str]:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=self._timeout
            )
        except TimeoutError as exc:
            raise OSError(f"resolving {host} timed out") from exc
        return sorted({str(info[4][0]) for info in infos})


@dataclass
class StaticResolver:
    """A fixed name (lower case) -> addresses table (tests; hosts without DNS). Unknown names do not resolve."""

    table: dict[str, list[str]] = field(default_factory=dict)

    async def resolve(self, host: str, port: int) -> list[str]:
        found = self.table.get(host.lower())
        if not found:
            raise OSError(f"{host} is not in the static table")
        return list(found)


@dataclass(frozen=True)
class DestinationPolicy:
    """Which resolved addresses a notification may go to (see the module docstring)."""

    allow_private: bool = False
    allow_networks: tuple[Network, ...] = ()

    @staticmethod
    def of(allow_private: bool, networks: Iterable[str]) -> DestinationPolicy:
        """From settings; a malformed CIDR raises :class:`ValueError`."""
        return DestinationPolicy(allow_private, tuple(ipaddress.ip_network(n, strict=False) for n in networks))

    def refusal(self, address: str) -> str | None:
        """Why ``address`` may not receive notifications (``None``: it may)."""
        ip = _address(address)
        if any(ip.version == net.version and ip in net for net in self.allow_networks):
            return None
        if ip.is_link_local:
            return "a link-local address"
        if ip.is_unspecified:
            return "the unspecified address"
        if ip.is_multicast:
            return "a multicast address"
        if ip.is_global:
            return None
        if ip.is_loopback:
            return None if self.allow_private else "a loopback address"
        if ip.is_reserved:
            return "a reserved address"
        return None if self.allow_private else "a private or internal address"


class DestinationGuard:
    """Checks a notification URI against a :class:`DestinationPolicy` through a :class:`Resolver`."""

    def __init__(self, policy: DestinationPolicy | None = None, resolver: Resolver | None = None) -> None:
        self._policy = policy if policy is not None else DestinationPolicy()
        self._resolver: Resolver = resolver if resolver is not None else DnsResolver()

    async def check(self, url: str) -> list[str]:
        """The resolved addresses of ``url``'s host, or :class:`ValidationError` naming the field and why."""
        host, port = _host_port(url)
        literal = _literal(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                addresses = await self._resolver.resolve(host, port)
            except OSError as exc:
                raise ValidationError(f"{FIELD}: host {host!r} does not resolve ({exc})") from exc
            if not addresses:
                raise ValidationError(f"{FIELD}: host {host!r} does not resolve")
        self._check_addresses(host, addresses)
        return addresses

    def _check_addresses(self, host: str, addresses: Sequence[str]) -> None:
        for address in addresses:
            try:
                why = self._policy.refusal(address)
            except ValueError:
                why = "no IP address"
            if why is not None:
                raise ValidationError(
                    f"{FIELD}: host {host!r} resolves to {address}, {why}; notifications go to public addresses "
                    "unless NEXTRIC_POLICY_NOTIFY_ALLOW_PRIVATE or NEXTRIC_POLICY_NOTIFY_ALLOW_CIDRS allow it"
                )


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(f"{FIELD} must be an absolute http(s) URI")
    if parts.username is not None or parts.password is not None:
        raise ValidationError(f"{FIELD} must not carry credentials (they would be stored and audited)")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValidationError(f"{FIELD}: invalid port ({exc})") from exc
    host = parts.hostname
    if not host:
        raise ValidationError(f"{FIELD} must name a host")
    return host, port if port is not None else (443 if parts.scheme == "https" else 80)


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        return None


def _address(text: str) -> Address:
    """The address (an IPv6 zone suffix dropped; an IPv4-mapped IPv6 address as the IPv4 it reaches)."""
    ip = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip

