"""Bearer tokens of the intent API (from settings, compared by SHA-256): operator writes, viewer reads."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rapps.intent_agent.api.problems import Problem
from rapps.intent_agent.settings import Grant

_bearer = HTTPBearer(auto_error=False, description="token from NEXTRIC_RAPP_TOKENS")


class Auth:
    def __init__(self, grants: Iterable[Grant]) -> None:
        self._table = {hashlib.sha256(g.token.get_secret_value().encode()).digest(): (g.name, frozenset(g.roles))
                       for g in grants}

    def require(self, *roles: str) -> Callable[..., Awaitable[str]]:
        allowed = frozenset(roles)

        async def dep(cred: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> str:  # noqa: B008
            if cred is None:
                raise Problem(401, "Unauthorized", "missing bearer token")
            found = self._table.get(hashlib.sha256(cred.credentials.encode()).digest())
            if found is None:
                raise Problem(401, "Unauthorized", "unknown bearer token")
            if not found[1] & allowed:
                raise Problem(403, "Forbidden", f"needs role {' or '.join(sorted(allowed))}")
            return found[0]

        return dep
