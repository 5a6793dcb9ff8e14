"""SSRF guard on ``notificationDestination``: loopback, link-local, unspecified, multicast and private/internal
destinations are refused with a 400 problem+json naming the field unless a setting allows them; host names are
resolved and every address is checked; the check runs again before each notification (DNS rebinding)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from pydantic import ValidationError as SettingsError

from nextric.errors import ValidationError
from policy.app import create_app
from policy.destination import DestinationGuard, DestinationPolicy, DnsResolver, StaticResolver
from policy.settings import PolicySettings
from policy.storage import AuditQuery
from tests.policy.a1_bodies import SLA, guard_body, policy_url, sla_body
from tests.policy.conftest import SMO_ADDRESS, SMO_HOST, Notifications, Running, Tokens, auth, running

REFUSED_ALWAYS = [
    "169.254.169.254",  # cloud metadata (link-local)
    "fe80::1",
    "0.0.0.0",
    "::",
    "224.0.0.1",
    "ff02::1",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "::ffff:169.254.169.254",  # IPv4-mapped IPv6 reaches the IPv4 address
]
REFUSED_UNLESS_PRIVATE = [
    "127.0.0.1",
    "127.8.9.10",
    "::1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",  # shared address space (carrier NAT, some cluster networks)
    "fd00::1",  # unique local
    "192.0.2.1",  # documentation
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
]
PUBLIC = ["8.8.8.8", "93.184.216.34", "2001:4860:4860::8888"]


@pytest.mark.parametrize("address", REFUSED_ALWAYS + REFUSED_UNLESS_PRIVATE)
def test_default_policy_refuses_non_public_addresses(address: str) -> None:
    assert DestinationPolicy().refusal(address) is not None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert DestinationPolicy().refusal(address) is None


def test_allow_private_opens_loopback_and_private_but_never_link_local_or_multicast() -> None:
    lenient = DestinationPolicy(allow_private=True)
    assert [a for a in REFUSED_UNLESS_PRIVATE if lenient.refusal(a) is not None] == []
    assert [a for a in REFUSED_ALWAYS if lenient.refusal(a) is None] == []


def test_allow_list_admits_exactly_its_networks() -> None:
    policy = DestinationPolicy.of(False, ["10.96.0.0/12", "169.254.10.0/24", "fd00:1::/64"])
    assert policy.refusal("10.96.4.5") is None
    assert policy.refusal("169.254.10.7") is None  # listed explicitly: the operator's choice
    assert policy.refusal("fd00:1::5") is None
    assert policy.refusal("10.1.0.1") is not None
    assert policy.refusal("169.254.169.254") is not None
    assert policy.refusal("fd00:2::5") is not None


async def _refused(guard: DestinationGuard, url: str) -> str:
    with pytest.raises(ValidationError) as err:
        await guard.check(url)
    message = str(err.value)
    assert message.startswith("notificationDestination"), message
    return message


async def test_every_resolved_address_is_checked() -> None:
    resolver = StaticResolver({"mixed.example": ["93.184.216.34", "10.0.0.5"], "ok.example": ["93.184.216.34"]})
    guard = DestinationGuard(DestinationPolicy(), resolver)
    assert "10.0.0.5" in await _refused(guard, "https://mixed.example/cb")
    assert await guard.check("https://ok.example:8443/cb") == ["93.184.216.34"]
    assert "does not resolve" in await _refused(guard, "http://unknown.example/cb")


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:6379/",  # /etc/hosts
        "http://LOCALHOST./",
        "http://2130706433/",  # 127.0.0.1 as one decimal number (getaddrinfo accepts it)
        "http://0x7f.1/",
        "http://[::1]:8080/",
        "http://[::ffff:7f00:1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1%25eth0]/",
        "http://0/",
    ],
)
async def test_system_resolver_sees_through_aliases_of_local_addresses(url: str) -> None:
    guard = DestinationGuard(DestinationPolicy(), DnsResolver(timeout_s=2.0))
    await _refused(guard, url)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "gopher://smo.example/", "http:///path", "http://user:pw@smo.example/cb"]
)
async def test_malformed_or_credentialed_uris_are_refused(url: str) -> None:
    await _refused(DestinationGuard(DestinationPolicy(), StaticResolver({SMO_HOST: [SMO_ADDRESS]})), url)


def _problem_naming_field(r: httpx.Response) -> None:
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "notificationDestination" in r.json()["detail"]


@pytest.mark.parametrize(
    "dest",
    ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:6379/", "http://[::1]/cb", "http://10.0.0.1/cb",
     "http://localhost/cb"],
)
async def test_put_with_internal_destination_is_400_and_changes_nothing(
    make_settings: Callable[..., PolicySettings], tokens: Tokens, dest: str
) -> None:
    app = create_app(make_settings(), resolver=StaticResolver({"localhost": ["127.0.0.1", "::1"]}))
    async for r in running(app):
        op = auth(tokens.operator)
        put = await r.client.put(policy_url(SLA, "s"), json=sla_body(), params={"notificationDestination": dest},
                                 headers=op)
        _problem_naming_field(put)
        assert (await r.client.get(policy_url(SLA, "s"), headers=op)).status_code == 404
        records, _ = r.service.backend.query(AuditQuery(kind="policy_put"))
        assert records == []


async def test_settings_allow_private_destinations_explicitly(
    make_settings: Callable[..., PolicySettings], tokens: Tokens
) -> None:
    for settings in (make_settings(notify_allow_private=True), make_settings(notify_allow_cidrs=["127.0.0.0/8"])):
        async for r in running(create_app(settings)):
            put = await r.client.put(
                policy_url(SLA, "s"), json=sla_body(), params={"notificationDestination": "http://127.0.0.1:9/cb"},
                headers=auth(tokens.operator),
            )
            assert put.status_code in (200, 201), put.text
    # link-local stays refused with allow_private
    async for r in running(create_app(make_settings(notify_allow_private=True))):
        put = await r.client.put(
            policy_url(SLA, "s2"), json=sla_body(sd="000002"),
            params={"notificationDestination": "http://169.254.169.254/"}, headers=auth(tokens.operator),
        )
        _problem_naming_field(put)


def test_settings_from_env_and_bad_cidr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXTRIC_POLICY_NOTIFY_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("NEXTRIC_POLICY_NOTIFY_ALLOW_CIDRS", '["10.96.0.0/12"]')
    s = PolicySettings()
    assert s.notify_allow_private is True
    assert s.notify_allow_cidrs == ["10.96.0.0/12"]
    monkeypatch.setenv("NEXTRIC_POLICY_NOTIFY_ALLOW_CIDRS", '["10.96.0.0/33"]')
    with pytest.raises(SettingsError, match="notify_allow_cidrs"):
        PolicySettings()


async def test_notification_is_not_sent_when_the_name_now_resolves_inside(
    make_settings: Callable[..., PolicySettings], tokens: Tokens, notifications: Notifications
) -> None:
    """DNS rebinding: the name was public when the policy was written, loopback when the status changes."""
    resolver = StaticResolver({"rebind.example": ["93.184.216.34"]})
    notify = httpx.AsyncClient(transport=httpx.MockTransport(notifications.handler))
    app = create_app(make_settings(), notify_client=notify, resolver=resolver)
    async for r in running(app):
        dest = "http://rebind.example/a1-status"
        put = await r.client.put(
            policy_url(SLA, "s"), json=sla_body(), params={"notificationDestination": dest},
            headers=auth(tokens.operator),
        )
        assert put.status_code == 201
        resolver.table["rebind.example"] = ["127.0.0.1"]
        sample = {"cellId": "c1", "sliceId": {"sst": 1, "sd": "000001"}, "packetDelayMs": 50.0}
        rep = await r.client.post("/guardrail/v1/kpi-reports", json={"samples": [sample]}, headers=auth(tokens.xapp))
        assert rep.json()["breaches"]
        await r.service.notifier.drain()
        assert notifications.received == []
        assert r.service.notifier.refused == 1


async def test_fixture_destination_is_allowed_only_by_its_explicit_allow_list(svc: Running, tokens: Tokens) -> None:
    """The shared fixture's SMO (a documentation address) passes because the fixture lists its network."""
    put = await svc.client.put(
        policy_url(SLA, "s"), json=sla_body(), params={"notificationDestination": f"http://{SMO_HOST}/cb"},
        headers=auth(tokens.operator),
    )
    assert put.status_code == 201
    other = await svc.client.put(
        policy_url("NEXTRIC_Guardrail_1.0.0", "g"), json=guard_body(),
        params={"notificationDestination": "http://198.51.100.1/cb"}, headers=auth(tokens.operator),
    )
    _problem_naming_field(other)
