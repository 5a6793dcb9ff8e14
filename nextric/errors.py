"""One exception tree for the runtime.

Apps raise these (or subclasses of their own under :class:`NextricError`); only the edges translate
them: the gRPC servicers to a status code, the FastAPI routers to ``application/problem+json``.
"""

from __future__ import annotations


class NextricError(Exception):
    """Root of every error nextric raises on purpose."""


class ConfigError(NextricError):
    """A setting, scenario or descriptor is invalid; the message says which field and why."""


class ValidationError(NextricError):
    """An input message (E2 control, A1 policy, intent, ...) is malformed or breaks a rule."""


class NotFoundError(NextricError):
    """A named entity (E2 node, cell, subscription, policy, key) does not exist."""


class ConflictError(NextricError):
    """The request conflicts with current state (duplicate id, concurrent update)."""


class UnavailableError(NextricError):
    """A dependency (E2 node, Redis, policy service) cannot be reached right now; retrying may help."""


class ResourceExhaustedError(NextricError):
    """A limit was hit (message size, queue depth, subscription count)."""
