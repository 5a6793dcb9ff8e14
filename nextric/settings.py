"""Runtime settings shared by every process (pydantic-settings: environment first, defaults embedded).

Each app defines its own settings class (``<app>/settings.py``) that embeds these pieces under its own
environment prefix, e.g. ``NEXTRIC_TESTBED_E2__PORT=36421`` or ``NEXTRIC_XAPP_SDL__BACKEND=redis``.
Nothing here is read at import time: a process builds its settings once in ``main`` and passes them down.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class HttpSettings(BaseModel):
    """Where a process serves HTTP (health probes, metrics, and its API if it has one)."""

    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535, description="0 = a free port chosen by the kernel")


class LogSettings(BaseModel):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_lines: bool = True
