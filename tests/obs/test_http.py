"""Health probes and metrics over real HTTP (uvicorn on 127.0.0.1, port 0)."""

from __future__ import annotations

import json
import logging

import httpx
from prometheus_client import CollectorRegistry, Counter

from nextric.obs.health import ALIVE_PATH, READY_PATH, Health
from nextric.obs.http import observability_app
from nextric.obs.logging import JsonFormatter
from nextric.obs.serve import serving


async def test_alive_ready_and_metrics_over_http() -> None:
    health = Health()
    health.register("e2")
    registry = CollectorRegistry()
    Counter("demo_things", "things counted", registry=registry).inc(3)
    flips: list[bool] = []
    health.on_change(flips.append)
    async with (
        serving(observability_app(health, registry)) as server,
        httpx.AsyncClient(base_url=server.base_url) as http,
    ):
        assert server.port > 0
        assert (await http.get(ALIVE_PATH)).status_code == 200
        not_ready = await http.get(READY_PATH)
        assert not_ready.status_code == 503
        assert not_ready.json()["components"]["e2"] == {"ready": False, "detail": "starting"}
        health.set("e2", True, "subscribed")
        assert (await http.get(READY_PATH)).status_code == 200
        metrics = await http.get("/metrics")
        assert "demo_things_total 3.0" in metrics.text
    assert flips == [True]


def test_json_log_lines_carry_extra_fields() -> None:
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "control %s refused", ("c1",), None)
    record.cause = "control-message-invalid"
    line = json.loads(JsonFormatter("slice_scheduler").format(record))
    assert line["msg"] == "control c1 refused"
    assert line["app"] == "slice_scheduler"
    assert line["cause"] == "control-message-invalid"
    assert line["level"] == "warning"
