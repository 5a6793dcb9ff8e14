"""Chaos tests: real processes killed with SIGKILL under load (``make test`` runs them; each stays within its
``pytest.mark.timeout``)."""

from __future__ import annotations

import secrets

import pytest

from tests.policy.conftest import Tokens, auth

__all__ = ["Tokens", "auth"]


@pytest.fixture
def tokens() -> Tokens:
    return Tokens(*(secrets.token_urlsafe(24) for _ in range(4)))
