"""Who is calling: the authenticated principal the edges hand to the services (and into the audit)."""

from __future__ import annotations

from dataclasses import dataclass

from policy.settings import Role


@dataclass(frozen=True, slots=True)
class Principal:
    """A token holder: ``name`` (from the grant) and its roles."""

    name: str
    roles: frozenset[Role]

    def role_names(self) -> tuple[str, ...]:
        return tuple(sorted(r.value for r in self.roles))


SYSTEM = Principal("policy-service", frozenset())
