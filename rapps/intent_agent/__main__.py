"""``python -m rapps.intent_agent``: the rApp process (settings from ``NEXTRIC_RAPP_*``).

Serves the intent API and the operator page. With ``NEXTRIC_RAPP_E2__TARGET`` it follows the KPM of every E2 node
there (the testbed, or the E2 termination bridge in front of real gNBs); it learns the network from the twin
service's ``Describe`` and plans on the twin at ``NEXTRIC_RAPP_TWIN__TARGET`` (default: the E2 target, where the
testbed serves both). Without a twin, ``NEXTRIC_RAPP_NETWORK_FILE`` (the same description as a file) lets it
compile and answer without planning. Prints one JSON line with the bound HTTP port, then runs until
SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys

from nextric.e2.client import E2Client
from nextric.errors import ConfigError
from nextric.obs.logging import configure_logging
from nextric.obs.serve import start_http
from nextric.sdl.factory import open_sdl
from nextric.weak_secrets import refuse_weak, refuse_weak_url_password
from rapps.intent_agent.app import build_agent, create_app, describe_network, feed_kpm, load_description, twin_channel
from rapps.intent_agent.settings import IntentAgentSettings


async def serve(settings: IntentAgentSettings, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    sdl = open_sdl(settings.sdl)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        twin = None
        channel = twin_channel(settings)
        if channel is not None:
            await stack.enter_async_context(channel)
            topo, twin = await describe_network(channel, settings.startup_wait_s)
        elif settings.network_file is not None:
            topo = load_description(settings.network_file)
        else:
            raise ConfigError("the rApp needs the network's description: set NEXTRIC_RAPP_TWIN__TARGET or "
                              "NEXTRIC_RAPP_E2__TARGET (the twin service) or NEXTRIC_RAPP_NETWORK_FILE (a "
                              "TwinDescription in protobuf JSON)")
        client = None if settings.e2 is None else await stack.enter_async_context(E2Client(settings.e2))
        agent = build_agent(settings, sdl, topo, twin)
        http = await start_http(create_app(settings, agent), settings.http.host, settings.http.port,
                                head_timeout_s=settings.http.head_timeout_s)
        print(json.dumps({"http_port": http.port}), flush=True)
        feed = None if client is None else asyncio.create_task(feed_kpm(agent, client, settings.report_period_ms, stop))
        try:
            await stop.wait()
        finally:
            if feed is not None:
                await feed
            await http.stop()
            agent.audit.close()
            await sdl.close()


def refuse_weak_secrets(settings: IntentAgentSettings) -> None:
    """ConfigError naming the setting when a token of the intent API or the SDL's Redis password is an example value
    or too short (the client tokens are checked when the settings are built: TokenFileMixin)."""
    for grant in settings.tokens:
        refuse_weak(grant.token, f"NEXTRIC_RAPP_TOKENS: token of {grant.name!r}")
    refuse_weak_url_password(settings.sdl.redis_url, "NEXTRIC_RAPP_SDL__REDIS_URL")


def main() -> None:
    settings = IntentAgentSettings()
    configure_logging("intent_agent", settings.log.level, settings.log.json_lines)
    try:
        refuse_weak_secrets(settings)
    except ConfigError as exc:
        sys.exit(f"intent_agent: {exc}")
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
