"""Refusal of example and weak secrets (bearer tokens, the Redis password) at start-up.

Every value that the repository shows as an example of a secret (.env.example, the docs, the Helm values' comments,
the deploy examples) is collected in :data:`EXAMPLE_SECRETS`; a process that is given one of them, or a secret
shorter than :data:`MIN_SECRET_CHARS`, refuses to start with a :class:`~nextric.errors.ConfigError` naming the
setting (never the value). 22 characters is what 16 random bytes take in URL-safe base64
(``python -c "import secrets; print(secrets.token_urlsafe(16))"``); ``openssl rand -hex 24`` (48) is what the docs use.
The check cannot measure the entropy of a chosen secret: it refuses the known and the short, nothing more.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

from nextric.errors import ConfigError

MIN_SECRET_CHARS = 22

#: secrets shown as examples in this repository (compared case-insensitively, surrounding whitespace ignored)
EXAMPLE_SECRETS: frozenset[str] = frozenset({
    # .env.example
    "change-me-redis", "change-me-grafana", "change-me",
    # docs/policy.md, docs/rapps/intent_agent.md, docs/security.md, docs/deploy.md
    "<secret>", "secret", "<password>", "password", "<token>", "token", "...",
    # tests and examples that the docs point at
    "op-token", "xapp-token", "viewer-token", "redis-pw",
    # placeholders of the operator's Secret commands in the docs
    "$OPERATOR", "$VIEWER", "$XAPP",
})
_EXAMPLES_FOLDED = frozenset(s.casefold() for s in EXAMPLE_SECRETS)


def weakness(value: str) -> str | None:
    """Why ``value`` may not be used as a secret (an example value, too short), or None."""
    stripped = value.strip()
    if stripped.casefold() in _EXAMPLES_FOLDED or stripped.casefold().startswith("change-me"):
        return "it is an example value shipped with nextric"
    if len(stripped) < MIN_SECRET_CHARS:
        return f"it is shorter than {MIN_SECRET_CHARS} characters"
    return None


def refuse_weak(value: SecretStr | str | None, setting: str) -> None:
    """ConfigError naming ``setting`` when ``value`` is an example or too short (None: nothing to check)."""
    if value is None:
        return
    secret = value.get_secret_value() if isinstance(value, SecretStr) else value
    why = weakness(secret)
    if why is not None:
        raise ConfigError(f"{setting}: refusing to start with this secret: {why}; generate one, e.g. "
                          f"`openssl rand -hex 24` (at least {MIN_SECRET_CHARS} characters)")


def refuse_weak_url_password(url: str | None, setting: str) -> None:
    """The same for the password in a URL (``redis://:password@host:port/db``); a URL without one passes (a Redis
    without auth is a deployment's choice, documented as a residual risk)."""
    if not url:
        return
    try:
        password = urlsplit(url).password
    except ValueError:
        return  # not a URL: the client that parses it reports that
    if password is not None:
        refuse_weak(unquote(password), f"{setting} (its password)")
