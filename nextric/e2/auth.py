"""Bearer-token authentication and per-role permissions of the E2 gRPC port (and the services sharing it).

Every call carries ``authorization: Bearer <token>`` in its metadata. A token is granted one or more roles; a role
is a set of RPCs (full method names ``/package.Service/Method``):

========== =====================================================================================================
role       may call
========== =====================================================================================================
kpm        E2 ``ListNodes``, ``GetNode``, ``Subscribe``, ``DeleteSubscription``; transport ``ListLinks``,
           ``WatchLinks``; twin ``Describe`` (read the network)
control    everything ``kpm`` may, plus E2 ``Control`` (RIC control: slice quotas, beams, CE modes)
transport  transport ``ListLinks``, ``WatchLinks``, ``SetShares``
twin       twin ``Describe``, ``Rollout``
evaluation the testbed's evaluation channel (ground truth for benchmarks and tests)
admin      every RPC
========== =====================================================================================================

gRPC health (``grpc.health.v1.Health``) stays open, for probes; reflection needs any valid token. A call without a
(known) token is answered UNAUTHENTICATED, a known token without the role PERMISSION_DENIED; neither reaches the
service, so nothing is applied. Tokens are compared in constant time and never logged.

The client side (:func:`open_channel`) adds the metadata to every call of a channel, over TLS when given a CA.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import grpc
from pydantic import BaseModel, SecretStr, ValidationError

from nextric.errors import ConfigError
from nextric.weak_secrets import refuse_weak

log = logging.getLogger("nextric.e2.auth")

if TYPE_CHECKING:  # the grpc stubs are generic, the runtime classes are not
    _ServerInterceptor = grpc.aio.ServerInterceptor[Any, Any]
    _UU = grpc.aio.UnaryUnaryClientInterceptor[Any, Any]
    _US = grpc.aio.UnaryStreamClientInterceptor[Any, Any]
    _SU = grpc.aio.StreamUnaryClientInterceptor[Any, Any]
    _SS = grpc.aio.StreamStreamClientInterceptor[Any, Any]
else:
    _ServerInterceptor = grpc.aio.ServerInterceptor
    _UU = grpc.aio.UnaryUnaryClientInterceptor
    _US = grpc.aio.UnaryStreamClientInterceptor
    _SU = grpc.aio.StreamUnaryClientInterceptor
    _SS = grpc.aio.StreamStreamClientInterceptor

Role = Literal["kpm", "control", "transport", "twin", "evaluation", "admin"]
AUTH_METADATA_KEY = "authorization"
OPEN_SERVICES = frozenset({"grpc.health.v1.Health"})  #: probes reach these without a token
ANY_ROLE_SERVICES = frozenset(
    {"grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection"}
)

_E2 = "/nextric.e2.v1.E2Node/"
_TN = "/nextric.transport.v1.TransportController/"
_TWIN = "/nextric.twin.v1.DigitalTwin/"
_EVAL = "/nextric.evaluation.v1.Evaluation/"
_KPM = frozenset({
    _E2 + "ListNodes", _E2 + "GetNode", _E2 + "Subscribe", _E2 + "DeleteSubscription",
    _TN + "ListLinks", _TN + "WatchLinks", _TWIN + "Describe",
})
#: role -> the RPCs it may call (a method ending in "/" names a whole service)
PERMISSIONS: dict[str, frozenset[str]] = {
    "kpm": _KPM,
    "control": _KPM | {_E2 + "Control"},
    "transport": frozenset({_TN + "ListLinks", _TN + "WatchLinks", _TN + "SetShares"}),
    "twin": frozenset({_TWIN + "Describe", _TWIN + "Rollout"}),
    "evaluation": frozenset({_EVAL}),
}


class GrpcTokenGrant(BaseModel):
    """One bearer token of the gRPC port, who holds it and its roles (the same shape as the policy service's)."""

    name: str
    token: SecretStr
    roles: list[Role]


def load_grants(tokens: Sequence[GrpcTokenGrant], tokens_file: Path | None) -> list[GrpcTokenGrant]:
    """Grants from a settings list plus a JSON file of grants (e.g. a mounted Secret); ConfigError when unreadable."""
    grants = list(tokens)
    if tokens_file is not None:
        try:
            raw = json.loads(tokens_file.read_text())
            if not isinstance(raw, list):
                raise ValueError("expected a JSON list of {name, token, roles}")
            grants.extend(GrpcTokenGrant.model_validate(item) for item in raw)
        except (OSError, ValueError, ValidationError) as exc:
            raise ConfigError(f"cannot read tokens_file {tokens_file}: {exc}") from exc
    for grant in grants:  # an example value or a short token: no start (nextric/weak_secrets.py)
        refuse_weak(grant.token, f"E2 token of {grant.name!r} (tokens / tokens_file)")
    return grants


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def allowed(roles: Iterable[str], method: str) -> bool:
    """May a holder of ``roles`` call ``method`` (``/package.Service/Method``)?"""
    service = method[: method.rfind("/") + 1]
    for role in roles:
        if role == "admin":
            return True
        perms = PERMISSIONS.get(role, frozenset())
        if method in perms or service in perms:
            return True
    return False


class Authenticator:
    """Who a call's metadata names (by token), and whether that grant may call a method."""

    def __init__(self, grants: Sequence[GrpcTokenGrant]) -> None:
        self._grants = [(_digest(g.token.get_secret_value()), g) for g in grants]

    def __bool__(self) -> bool:
        return bool(self._grants)

    def identify(self, metadata: Iterable[tuple[str, Any]] | None) -> GrpcTokenGrant | None:
        """The grant whose token the ``authorization: Bearer`` metadata carries; None without a known one."""
        for key, value in metadata or ():
            if key.lower() != AUTH_METADATA_KEY:
                continue
            text = value.decode() if isinstance(value, bytes) else str(value)
            scheme, _, token = text.partition(" ")
            if scheme.lower() != "bearer" or not token:
                return None
            presented = _digest(token.strip())
            found = None
            for digest, grant in self._grants:  # every grant compared: no early exit on a match
                if hmac.compare_digest(digest, presented):
                    found = grant
            return found
        return None


NO_TOKEN_HINT = ("this server requires a bearer token and the call carried none: give the client its token "
                 "(<prefix>E2__TOKEN_FILE, CONTROLLER__TOKEN_FILE or TWIN__TOKEN_FILE; an xApp installed by the O-RAN "
                 "SC App Manager gets it as docs/deploy.md, 'E2 tokens and TLS for App Manager xApps', says)")


def _why_unauthenticated(metadata: Iterable[tuple[str, Any]] | None) -> str:
    """The detail of an UNAUTHENTICATED answer: no token at all (a client not configured: say what to set) or a
    token this server does not know (never echoed)."""
    if any(key.lower() == AUTH_METADATA_KEY for key, _ in metadata or ()):
        return "a valid 'authorization: Bearer' token is required: this one is no grant of this server"
    return f"a valid 'authorization: Bearer' token is required: {NO_TOKEN_HINT}"


def _refusal(handler: grpc.RpcMethodHandler[Any, Any], code: grpc.StatusCode, details: str) -> Any:
    async def refuse(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        await context.abort(code, details)

    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(refuse)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(refuse)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(refuse)
    return grpc.unary_unary_rpc_method_handler(refuse)


class TokenAuthInterceptor(_ServerInterceptor):
    """Refuses calls without a known token (UNAUTHENTICATED) or without the role (PERMISSION_DENIED)."""

    def __init__(self, auth: Authenticator, on_refused: Callable[[str, str], None] | None = None) -> None:
        self._auth = auth
        self._on_refused = on_refused

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        method: str = handler_call_details.method
        service = method.strip("/").split("/", 1)[0]
        handler = await continuation(handler_call_details)
        if service in OPEN_SERVICES or handler is None:
            return handler
        grant = self._auth.identify(handler_call_details.invocation_metadata)
        if grant is None:
            self._refused(method, "unauthenticated")
            why = _why_unauthenticated(handler_call_details.invocation_metadata)
            refusal: grpc.RpcMethodHandler[Any, Any] = _refusal(handler, grpc.StatusCode.UNAUTHENTICATED, why)
            return refusal
        if service in ANY_ROLE_SERVICES or allowed(grant.roles, method):
            return handler
        self._refused(method, "permission-denied")
        refusal = _refusal(handler, grpc.StatusCode.PERMISSION_DENIED,
                           f"{grant.name} (roles {', '.join(grant.roles) or 'none'}) may not call {method}")
        return refusal

    def _refused(self, method: str, why: str) -> None:
        log.warning("gRPC call refused", extra={"method": method, "why": why})
        if self._on_refused is not None:
            self._on_refused(method, why)


def server_credentials(cert_file: Path, key_file: Path, client_ca_file: Path | None) -> grpc.ServerCredentials:
    """TLS credentials of the server; with ``client_ca_file`` clients must present a certificate it signed (mTLS)."""
    try:
        pair = (key_file.read_bytes(), cert_file.read_bytes())
        ca = client_ca_file.read_bytes() if client_ca_file is not None else None
    except OSError as exc:
        raise ConfigError(f"cannot read TLS files: {exc}") from exc
    return grpc.ssl_server_credentials([pair], root_certificates=ca, require_client_auth=ca is not None)


# ---------------------------------------------------------------------------------------------- client side


class _BearerMetadata:
    """Adds ``authorization: Bearer <token>`` to the calls of a plaintext channel (one subclass per call shape: the
    channel files an interceptor under the first shape it matches)."""

    def __init__(self, token: str) -> None:
        self._value = f"Bearer {token}"

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        metadata.add(AUTH_METADATA_KEY, self._value)
        return grpc.aio.ClientCallDetails(
            details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
        )


class _BearerUU(_BearerMetadata, _UU):
    async def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(self._details(client_call_details), request)


class _BearerUS(_BearerMetadata, _US):
    async def intercept_unary_stream(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(self._details(client_call_details), request)


class _BearerSU(_BearerMetadata, _SU):
    async def intercept_stream_unary(self, continuation: Any, client_call_details: Any, request_iterator: Any) -> Any:
        return await continuation(self._details(client_call_details), request_iterator)


class _BearerSS(_BearerMetadata, _SS):
    async def intercept_stream_stream(self, continuation: Any, client_call_details: Any, request_iterator: Any) -> Any:
        return await continuation(self._details(client_call_details), request_iterator)


def bearer_interceptors(token: str) -> list[Any]:
    """Client interceptors that add the token to every call shape of a plaintext aio channel."""
    return [cls(token) for cls in (_BearerUU, _BearerUS, _BearerSU, _BearerSS)]


def open_channel(
    target: str,
    options: Sequence[tuple[str, Any]] = (),
    token: SecretStr | str | None = None,
    tls_ca_file: Path | None = None,
    tls_server_name: str | None = None,
) -> grpc.aio.Channel:
    """A channel to ``target``: plaintext, or TLS verified against ``tls_ca_file``; every call carries ``token``."""
    secret = token.get_secret_value() if isinstance(token, SecretStr) else token
    opts = list(options)
    if tls_ca_file is None:
        interceptors = bearer_interceptors(secret) if secret else None
        return grpc.aio.insecure_channel(target, options=opts, interceptors=interceptors)
    try:
        ca = tls_ca_file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read tls_ca_file {tls_ca_file}: {exc}") from exc
    creds = grpc.ssl_channel_credentials(root_certificates=ca)
    if secret:
        creds = grpc.composite_channel_credentials(creds, grpc.access_token_call_credentials(secret))
    if tls_server_name:
        opts.append(("grpc.ssl_target_name_override", tls_server_name))
    return grpc.aio.secure_channel(target, creds, options=opts)
