"""``python -m policy``: serve the policy service with uvicorn on the configured host/port.

Port 0 binds a free port; the bound port is printed as one JSON line (``{"http_port": ..., "url": ...}``, like
every nextric process) and, with ``NEXTRIC_POLICY_PORT_FILE``, written to that file (atomically) so supervisors and
tests can find it.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import uvicorn

from nextric.errors import ConfigError
from nextric.obs.head_deadline import head_deadline_protocol
from nextric.obs.logging import configure_logging
from nextric.weak_secrets import refuse_weak, refuse_weak_url_password
from policy.app import create_app
from policy.settings import PolicySettings


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _write_port(path: Path, port: int) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(f"{port}\n")
    os.replace(tmp, path)


class _Server(uvicorn.Server):
    """uvicorn server that announces the bound port once startup (lifespan included) completed."""

    def __init__(self, config: uvicorn.Config, announce: Callable[[], None]) -> None:
        super().__init__(config)
        self._announce = announce

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._announce()


def refuse_weak_secrets(settings: PolicySettings) -> None:
    """ConfigError naming the setting when a token or the Redis password is an example value or too short."""
    for grant in settings.grants():
        refuse_weak(grant.token, f"NEXTRIC_POLICY_TOKENS / TOKENS_FILE: token of {grant.name!r}")
    refuse_weak_url_password(settings.redis_url, "NEXTRIC_POLICY_REDIS_URL")
    refuse_weak_url_password(settings.sdl_redis_url, "NEXTRIC_POLICY_SDL_REDIS_URL")


def main() -> None:
    settings = PolicySettings()
    configure_logging("policy", settings.log_level, settings.log_json)
    try:
        refuse_weak_secrets(settings)
    except ConfigError as exc:
        sys.exit(f"policy: {exc}")
    app = create_app(settings)
    sock = _bind(settings.host, settings.port)
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on",
                            http=head_deadline_protocol(settings.head_timeout_s))  # slowloris

    def announce() -> None:
        if settings.port_file is not None:
            _write_port(settings.port_file, port)
        print(json.dumps({"http_port": port, "url": f"http://{settings.host}:{port}"}), flush=True)

    server = _Server(config, announce)
    asyncio.run(server.serve(sockets=[sock]))
    sys.exit(0 if server.started else 1)


if __name__ == "__main__":
    main()
