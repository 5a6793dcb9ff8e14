"""The O-RAN SC adapter: A1 policy over RMR (20010 -> 20011) forwarded to the real nextric policy service and
kept in SDL (ricsdl on a real Redis), the start-up policy query (20012), registration with the App Manager."""

from __future__ import annotations

import json
import queue
from pathlib import Path
from typing import Any

import pytest
import requests
from adapter import a1
from adapter.settings import AdapterSettings, SettingsError

ROOT = Path(__file__).resolve().parents[3]
SLA_TYPE = "ORAN_SliceSLATarget_1.0.0"
SLA = {"scope": {"sliceId": {"plmnId": {"mcc": "001", "mnc": "01"}, "sst": 2, "sd": "000002"}},
       "sliceSlaObjectives": {"maxPacketDelayMs": 20.0, "maxPacketLossRate": 0.1}}


def test_parse_and_answer() -> None:
    req = a1.parse_request(json.dumps({"operation": "CREATE", "policy_type_id": 20008, "policy_instance_id": "p1",
                                       "payload": {"a": 1}}).encode())
    assert (req.operation, req.type_id, req.instance_id, req.payload) == ("CREATE", 20008, "p1", {"a": 1})
    assert json.loads(a1.response(20008, "p1", "slice-scheduler", "OK")) == {
        "policy_type_id": 20008, "policy_instance_id": "p1", "handler_id": "slice-scheduler", "status": "OK"}
    for raw, message in ((b"{", "not JSON"), (b"[]", "not a JSON object"),
                         (b'{"policy_type_id": "x"}', "policy_type_id"),
                         (b'{"policy_type_id": 1, "policy_instance_id": "i", "operation": "PATCH"}', "operation")):
        with pytest.raises(a1.A1MessageError, match=message):
            a1.parse_request(raw)


def test_settings_from_env() -> None:
    s = AdapterSettings.from_env({"NEXTRIC_OSC_HANDLER_ID": "slice-scheduler",
                                  "NEXTRIC_OSC_POLICY_TYPES": json.dumps({"20008": SLA_TYPE})})
    assert s.type_map == {20008: SLA_TYPE}
    assert s.sdl_namespace == "a1.slice-scheduler"
    assert s.rmr_port == 4560
    with pytest.raises(SettingsError, match="HANDLER_ID"):
        AdapterSettings.from_env({})
    with pytest.raises(SettingsError):
        AdapterSettings.from_env({"NEXTRIC_OSC_HANDLER_ID": "x", "NEXTRIC_OSC_POLICY_TYPES": "{bad"})


def test_settings_from_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The path the image runs: pydantic-settings reads NEXTRIC_OSC_* (JSON for the type map) from os.environ."""
    monkeypatch.setenv("NEXTRIC_OSC_HANDLER_ID", "slice-scheduler")
    monkeypatch.setenv("NEXTRIC_OSC_POLICY_TYPES", json.dumps({"20008": SLA_TYPE}))
    monkeypatch.setenv("NEXTRIC_OSC_RMR_PORT", "4570")
    s = AdapterSettings.from_env()
    assert (s.type_map, s.rmr_port, s.sdl_namespace) == ({20008: SLA_TYPE}, 4570, "a1.slice-scheduler")
    monkeypatch.setenv("NEXTRIC_OSC_RMR_PORT", "70000")
    with pytest.raises(SettingsError, match="NEXTRIC_OSC_RMR_PORT"):
        AdapterSettings.from_env()


def test_policy_token_from_a_file(tmp_path: Path) -> None:
    """The token as a mounted Secret (the oran-sc overlay's NEXTRIC_OSC_POLICY_TOKEN_FILE), not an env variable."""
    token = tmp_path / "token"
    token.write_text("op-token-0123456789abcdef\n")
    env = {"NEXTRIC_OSC_HANDLER_ID": "slice-scheduler", "NEXTRIC_OSC_POLICY_TOKEN_FILE": str(token)}
    assert AdapterSettings.from_env(env).policy_token == "op-token-0123456789abcdef"
    plain = {"NEXTRIC_OSC_HANDLER_ID": "x", "NEXTRIC_OSC_POLICY_TOKEN": "t"}
    assert AdapterSettings.from_env(plain).policy_token == "t"
    with pytest.raises(SettingsError, match="both set"):
        AdapterSettings.from_env({**env, "NEXTRIC_OSC_POLICY_TOKEN": "t"})
    with pytest.raises(SettingsError, match="cannot read it"):
        AdapterSettings.from_env({**env, "NEXTRIC_OSC_POLICY_TOKEN_FILE": str(tmp_path / "missing")})
    token.write_text("\n")
    with pytest.raises(SettingsError, match="empty"):
        AdapterSettings.from_env(env)


@pytest.fixture
def xapp(rmr_wire: Any, redis_port: int, policy_service: str, appmgr: Any,
         monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    from adapter.app import build
    from ricxappframe.util.constants import Constants

    config = tmp_path / "config-file.json"
    config.write_text((ROOT / "deploy" / "xapps" / "slice_scheduler" / "config-file.json").read_text())
    host = "slice-scheduler-7d9f"
    env = {"DBAAS_SERVICE_HOST": "127.0.0.1", "DBAAS_SERVICE_PORT": str(redis_port), "CONFIG_FILE": str(config),
           "HOSTNAME": host, "PLT_NAMESPACE": "ricplt",
           f"SERVICE_RICXAPP_{host.upper().replace('-', '_')}_HTTP_PORT": "tcp://10.0.0.5:8080",
           f"SERVICE_RICXAPP_{host.upper().replace('-', '_')}_RMR_PORT": "tcp://10.0.0.5:4560"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    # the framework posts to the App Manager's in-cluster name; here it is the stand-in on loopback
    monkeypatch.setattr(Constants, "REGISTER_PATH", appmgr.url + "/ric/v1/register?ns={}&plt={}")
    settings = AdapterSettings.from_env({"NEXTRIC_OSC_HANDLER_ID": "slice-scheduler",
                                        "NEXTRIC_OSC_POLICY_URL": policy_service,
                                        "NEXTRIC_OSC_POLICY_TOKEN": "op-token-0123456789abcdef",
                                        "NEXTRIC_OSC_POLICY_TYPES": json.dumps({"20008": SLA_TYPE})})
    app = build(settings, wait_for_ready=False)
    app.run(thread=True, rmr_timeout=0.05)
    yield app
    app.xapp_shutdown = app.deregister  # deregister for real, without the framework's 10 s grace sleep
    app.stop()


def _request(op: str, instance: str, payload: Any = None, type_id: int = 20008) -> bytes:
    return json.dumps({"operation": op, "policy_type_id": type_id, "policy_instance_id": instance,
                       "payload": payload}).encode()


def _answer(rmr_wire: Any) -> dict[str, Any]:
    mtype, payload = rmr_wire.rts.get(timeout=10)
    assert mtype == a1.A1_POLICY_RESP
    return dict(json.loads(payload))


def test_a1_policy_over_rmr_reaches_policy_service_and_sdl(xapp: Any, rmr_wire: Any, policy_service: str) -> None:
    assert rmr_wire.sent.get(timeout=10) == (a1.A1_POLICY_QUERY, a1.query(20008))
    url = f"{policy_service}/A1-P/v2/policytypes/{SLA_TYPE}/policies/urllc-1"
    auth = {"Authorization": "Bearer op-token-0123456789abcdef"}

    rmr_wire.inbox.put((a1.A1_POLICY_REQ, _request("CREATE", "urllc-1", SLA)))
    assert _answer(rmr_wire) == {"policy_type_id": 20008, "policy_instance_id": "urllc-1",
                                 "handler_id": "slice-scheduler", "status": "OK"}
    assert requests.get(url, headers=auth, timeout=5).json() == SLA
    assert json.loads(xapp.sdl_get("a1.slice-scheduler", "20008/urllc-1", usemsgpack=False)) == SLA

    bad = {"scope": {"sliceId": "nope"}}  # the policy service refuses it: ERROR, nothing stored
    rmr_wire.inbox.put((a1.A1_POLICY_REQ, _request("UPDATE", "urllc-2", bad)))
    assert _answer(rmr_wire)["status"] == "ERROR"
    assert xapp.sdl_get("a1.slice-scheduler", "20008/urllc-2", usemsgpack=False) is None

    rmr_wire.inbox.put((a1.A1_POLICY_REQ, _request("CREATE", "x", SLA, type_id=99)))
    assert _answer(rmr_wire)["status"] == "ERROR"  # a type this xApp does not handle
    rmr_wire.inbox.put((a1.A1_POLICY_REQ, b"not json"))
    assert _answer(rmr_wire)["status"] == "ERROR"

    rmr_wire.inbox.put((a1.A1_POLICY_REQ, _request("DELETE", "urllc-1")))
    assert _answer(rmr_wire)["status"] == "DELETED"
    assert requests.get(url, headers=auth, timeout=5).status_code == 404
    assert xapp.sdl_get("a1.slice-scheduler", "20008/urllc-1", usemsgpack=False) is None


def test_registers_with_the_app_manager(xapp: Any, appmgr: Any) -> None:
    try:
        got = appmgr.registrations.get(timeout=15)  # the framework waits 2 s, then registers once healthy
    except queue.Empty:
        pytest.fail("the xApp never registered with the App Manager")
    body = got["body"]
    assert got["path"].startswith("/ric/v1/register")
    assert (body["appName"], body["appInstanceName"]) == ("slice-scheduler-7d9f", "slice-scheduler")
    assert (body["httpEndpoint"], body["rmrEndpoint"]) == ("10.0.0.5:8080", "10.0.0.5:4560")
    assert json.loads(body["config"])["messaging"]["ports"][1]["policies"] == [20008]
