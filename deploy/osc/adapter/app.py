"""Wiring on ricxappframe's RMRXapp: the A1 policy request handler and the start-up policy query."""

from __future__ import annotations

import logging
from typing import Any

import requests
from ricxappframe.xapp_frame import RMRXapp

from adapter import a1
from adapter.bridge import apply
from adapter.settings import AdapterSettings

log = logging.getLogger("nextric.osc")


class SdlOnXapp:
    """The bridge's SDL, on the framework's ricsdl wrapper (DBAAS_SERVICE_HOST/PORT)."""

    def __init__(self, xapp: RMRXapp) -> None:
        self.xapp = xapp

    def set(self, ns: str, key: str, value: Any, usemsgpack: bool = True) -> None:
        self.xapp.sdl_set(ns, key, value, usemsgpack=usemsgpack)

    def delete(self, ns: str, key: str) -> None:
        self.xapp.sdl_delete(ns, key)


def make_handler(settings: AdapterSettings, http: requests.Session) -> Any:
    def on_policy(xapp: RMRXapp, summary: dict[str, Any], sbuf: Any) -> None:
        payload = summary["payload"]
        try:
            req = a1.parse_request(payload)
            status = apply(req, settings, http, SdlOnXapp(xapp))
            answer = a1.response(req.type_id, req.instance_id, settings.handler_id, status)
        except a1.A1MessageError as exc:
            log.warning("bad A1 policy request: %s", exc)
            answer = a1.response(exc.type_id or 0, exc.instance_id or "", settings.handler_id, "ERROR")
        xapp.rmr_rts(sbuf, new_payload=answer, new_mtype=a1.A1_POLICY_RESP)
        xapp.rmr_free(sbuf)

    return on_policy


def default_handler(xapp: RMRXapp, summary: dict[str, Any], sbuf: Any) -> None:
    log.info("unexpected RMR message type %s", summary.get("message type"))
    xapp.rmr_free(sbuf)


def build(settings: AdapterSettings, use_fake_sdl: bool = False, wait_for_ready: bool = True) -> RMRXapp:
    http = requests.Session()
    if settings.policy_token:
        http.headers["Authorization"] = f"Bearer {settings.policy_token}"

    def post_init(xapp: RMRXapp) -> None:
        for type_id in sorted(settings.type_map):  # policies already in force reach us as A1_POLICY_REQ
            xapp.rmr_send(a1.query(type_id), a1.A1_POLICY_QUERY, retries=10)

    xapp = RMRXapp(default_handler, rmr_port=settings.rmr_port, rmr_wait_for_ready=wait_for_ready,
                   use_fake_sdl=use_fake_sdl, post_init=post_init)
    xapp.register_callback(make_handler(settings, http), a1.A1_POLICY_REQ)
    return xapp
