"""Errors of the E2AP/E2SM codec and of E2AP peers."""

from __future__ import annotations

from nextric.errors import ValidationError


class CodecError(ValidationError):
    """Bytes that do not decode as the expected E2AP/E2SM message, or a value that cannot be encoded."""
