"""Bearer-token roles: tokens come from the settings, never from code; 401 without a known token, 403 without
the role. Tokens are looked up by their SHA-256 so the table never holds them in clear."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from policy.limits import RateLimiter
from policy.principal import Principal
from policy.problems import Forbidden, Unauthorized
from policy.settings import Role, TokenGrant

_bearer = HTTPBearer(auto_error=False, description="token from NEXTRIC_POLICY_TOKENS")

Dependency = Callable[..., Awaitable[Principal]]


class Authenticator:
    """Resolves a bearer token to a :class:`Principal` and builds per-route role dependencies."""

    def __init__(self, grants: Iterable[TokenGrant], limiter: RateLimiter) -> None:
        self._table = {
            _digest(g.token.get_secret_value()): Principal(g.name, frozenset(g.roles)) for g in grants
        }
        self._limiter = limiter

    def principal(self, token: str | None) -> Principal:
        if not token:
            raise Unauthorized("missing bearer token")
        found = self._table.get(_digest(token))
        if found is None:
            raise Unauthorized("unknown bearer token")
        return found

    def require(self, *roles: Role) -> Dependency:
        """A FastAPI dependency admitting principals holding any of ``roles``."""
        allowed = frozenset(roles)

        async def dependency(
            credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008
        ) -> Principal:
            who = self.principal(credentials.credentials if credentials else None)
            if not who.roles & allowed:
                raise Forbidden(f"needs role {' or '.join(sorted(r.value for r in allowed))}")
            self._limiter.take(who.name)
            return who

        return dependency


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
