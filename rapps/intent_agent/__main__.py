"""``python -m rapps.intent_agent``: the rApp process (settings from ``NEXTRIC_RAPP_*``).

Serves the intent API and the operator page. With ``NEXTRIC_RAPP_E2__TARGET`` it learns the network from the twin
service's ``Describe``, follows the KPM and plans; otherwise ``NEXTRIC_RAPP_NETWORK_FILE`` (the same description as
a file) lets it compile and answer without planning. Prints one JSON line with the bound HTTP port, then runs until
SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal

from nextric.e2.client import E2Client
from nextric.errors import ConfigError
from nextric.obs.logging import configure_logging
from nextric.obs.serve import start_http
from nextric.sdl.factory import open_sdl
from rapps.intent_agent.app import build_agent, create_app, describe_network, feed_kpm, load_description
from rapps.intent_agent.settings import IntentAgentSettings


async def serve(settings: IntentAgentSettings, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    sdl = open_sdl(settings.sdl)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        client = twin = None
        if settings.e2 is not None:
            client = await stack.enter_async_context(E2Client(settings.e2))
            topo, twin = await describe_network(client)
        elif settings.network_file is not None:
            topo = load_description(settings.network_file)
        else:
            raise ConfigError("the rApp needs the network's description: set NEXTRIC_RAPP_E2__TARGET (the twin "
                              "service) or NEXTRIC_RAPP_NETWORK_FILE (a TwinDescription in protobuf JSON)")
        agent = build_agent(settings, sdl, topo, twin)
        http = await start_http(create_app(settings, agent), settings.http.host, settings.http.port)
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


def main() -> None:
    settings = IntentAgentSettings()
    configure_logging("intent_agent", settings.log.level, settings.log.json_lines)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
