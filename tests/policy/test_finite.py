"""Non-finite and out-of-range numbers are refused at the edge: A1 policy bodies and guardrail requests holding
NaN, Infinity, -Infinity, 1e400 (which JSON parsers turn into inf) or integers beyond the I-JSON range get a 400
problem+json naming the field; nothing is stored, nothing audited. The property test drives a real service
process on SQLite and then reads its database: no stored policy or audit record holds a non-finite number."""

from __future__ import annotations

import json
import math
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from nextric.finite import MAX_SAFE_INTEGER, find_bad_number
from policy.storage import AuditQuery
from tests.policy.a1_bodies import GUARD, SLA, guard_body, policy_url, sla_body
from tests.policy.conftest import Running, Tokens, auth
from tests.policy.service_proc import ServiceProcess, start_service

#: JSON literals (as written on the wire) that are no finite number, and why Python's json would accept each
POISON = {
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "1e400": "1e400",  # parsed as inf
    "-1e400": "-1e400",
    "huge-int": "1" + "0" * 400,  # exact int, overflows float()
}
MARK = "__POISON__"


def poisoned(body: dict[str, Any], path: tuple[str | int, ...], literal: str) -> str:
    """``body`` as JSON text with the value at ``path`` replaced by the raw ``literal``."""
    doc = json.loads(json.dumps(body))
    node: Any = doc
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = MARK
    return json.dumps(doc).replace(f'"{MARK}"', literal)


def _problem_400(r: httpx.Response, field: str) -> None:
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    detail = r.json()["detail"]
    assert field in detail, detail
    assert "finite" in detail or "I-JSON" in detail, detail


SLA_FIELDS = [("sliceSlaObjectives", k) for k in ("maxPacketDelayMs", "maxPacketLossRate", "guaThroughputKbps",
                                                  "maxThroughputKbps", "priorityLevel")] + [("scope", "sliceId", "sst")]
GUARD_FIELDS: list[tuple[str | int, ...]] = [
    ("maxStepPercent",), ("minUpdateIntervalMs",), ("kindMinUpdateIntervalMs", "slice_prb_quota"),
    ("slaViolationProbabilityThreshold",), ("harmProbabilityThreshold",), ("rollback", "consecutiveBreachPeriods"),
    ("riskThresholds", "mediumViolationProbability"), ("sliceBounds", 0, "minPrbRatio", "lower"),
]


def _full_sla() -> dict[str, Any]:
    return sla_body(maxPacketDelayMs=20.0, maxPacketLossRate=0.01, guaThroughputKbps=1000.0,
                    maxThroughputKbps=5000.0, priorityLevel=5)


def _full_guard() -> dict[str, Any]:
    return guard_body(kindMinUpdateIntervalMs={"slice_prb_quota": 500}, slaViolationProbabilityThreshold=0.2,
                      harmProbabilityThreshold=0.2, riskThresholds={"mediumViolationProbability": 0.1})


async def _nothing_stored_nor_audited(svc: Running, tokens: Tokens) -> None:
    for type_id in (SLA, GUARD):
        r = await svc.client.get(f"/A1-P/v2/policytypes/{type_id}/policies", headers=auth(tokens.viewer))
        assert r.json() == []
    assert svc.service.backend.load_policies() == []
    records, _ = svc.service.backend.query(AuditQuery(limit=1000))
    assert [r for r in records if r.kind in ("policy_put", "guardrail_check")] == []


@pytest.mark.parametrize("literal", list(POISON.values()), ids=list(POISON))
@pytest.mark.parametrize("path", SLA_FIELDS, ids=lambda p: "/".join(map(str, p)))
async def test_sla_policy_with_a_non_finite_number_is_refused(
    svc: Running, tokens: Tokens, path: tuple[str, ...], literal: str
) -> None:
    r = await svc.client.put(policy_url(SLA, "sla-1"), content=poisoned(_full_sla(), path, literal),
                             headers={**auth(tokens.operator), "content-type": "application/json"})
    _problem_400(r, "/".join(path))
    assert (await svc.client.get(policy_url(SLA, "sla-1"), headers=auth(tokens.viewer))).status_code == 404
    await _nothing_stored_nor_audited(svc, tokens)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
@pytest.mark.parametrize("path", GUARD_FIELDS, ids=lambda p: "/".join(map(str, p)))
async def test_guardrail_policy_with_a_non_finite_number_is_refused(
    svc: Running, tokens: Tokens, path: tuple[str | int, ...], literal: str
) -> None:
    r = await svc.client.put(policy_url(GUARD, "g-1"), content=poisoned(_full_guard(), path, literal),
                             headers={**auth(tokens.operator), "content-type": "application/json"})
    _problem_400(r, "/".join(map(str, path)))
    await _nothing_stored_nor_audited(svc, tokens)


async def test_full_bodies_are_accepted(svc: Running, tokens: Tokens) -> None:
    """The poisoned bodies above differ from accepted ones only by the poisoned number."""
    op = auth(tokens.operator)
    assert (await svc.client.put(policy_url(SLA, "sla-1"), json=_full_sla(), headers=op)).status_code == 201
    assert (await svc.client.put(policy_url(GUARD, "g-1"), json=_full_guard(), headers=op)).status_code == 201


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("maxPacketDelayMs", 60_001),  # beyond a minute
        ("maxPacketDelayMs", 0),  # exclusive minimum
        ("guaThroughputKbps", 1e300),  # finite, but beyond 1 Tbit/s
        ("maxThroughputKbps", -1),
        ("maxPacketLossRate", 1.5),
    ],
)
async def test_sla_numbers_out_of_range_are_refused(svc: Running, tokens: Tokens, field: str, value: float) -> None:
    r = await svc.client.put(policy_url(SLA, "sla-1"), json=sla_body(**{field: value}), headers=auth(tokens.operator))
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert f"sliceSlaObjectives/{field}" in r.json()["detail"]
    await _nothing_stored_nor_audited(svc, tokens)


async def test_guardrail_interval_beyond_a_day_is_refused(svc: Running, tokens: Tokens) -> None:
    r = await svc.client.put(policy_url(GUARD, "g-1"), json=guard_body(minUpdateIntervalMs=86_400_001),
                             headers=auth(tokens.operator))
    assert r.status_code == 400, r.text
    assert "minUpdateIntervalMs" in r.json()["detail"]


def _action() -> dict[str, Any]:
    return {"kind": "slice_prb_quota", "cellId": "c1", "policies": [
        {"member": {"sst": 1, "sd": "000001"}, "minPrbRatio": 10, "maxPrbRatio": 60, "dedicatedPrbRatio": 0}]}


CHECK_FIELDS: list[tuple[str | int, ...]] = [
    ("at",), ("prediction", "slaViolationProbability"), ("prediction", "harmProbability"),
    ("prediction", "horizonS"), ("prediction", "expectedEffect", "mean"), ("prediction", "expectedEffect", "lo"),
    ("action", "policies", 0, "minPrbRatio"),
]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
@pytest.mark.parametrize("path", CHECK_FIELDS, ids=lambda p: "/".join(map(str, p)))
async def test_guardrail_check_with_a_non_finite_number_is_refused(
    svc: Running, tokens: Tokens, path: tuple[str | int, ...], literal: str
) -> None:
    body = {"action": _action(), "at": 1.0, "prediction": {
        "slaViolationProbability": 0.1, "harmProbability": 0.1, "horizonS": 5.0,
        "expectedEffect": {"target": "URLLC.p99", "mean": 1.0, "lo": 0.5, "hi": 1.5}}}
    r = await svc.client.post("/guardrail/v1/check", content=poisoned(body, path, literal),
                              headers={**auth(tokens.xapp), "content-type": "application/json"})
    _problem_400(r, "/".join(map(str, path)))
    await _nothing_stored_nor_audited(svc, tokens)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "1e400"])
async def test_kpi_report_and_applied_refuse_non_finite_numbers(svc: Running, tokens: Tokens, literal: str) -> None:
    h = {**auth(tokens.xapp), "content-type": "application/json"}
    report = {"at": 1.0, "samples": [{"cellId": "c1", "sliceId": {"sst": 1}, "packetDelayMs": 3.0}]}
    r = await svc.client.post("/guardrail/v1/kpi-reports", content=poisoned(report, ("samples", 0, "packetDelayMs"),
                                                                            literal), headers=h)
    _problem_400(r, "samples/0/packetDelayMs")
    r = await svc.client.post("/guardrail/v1/applied", content=poisoned({"action": _action(), "at": 1.0}, ("at",),
                                                                        literal), headers=h)
    _problem_400(r, "at")


# ---------------------------------------------------------------------------------------------- property, real process


@pytest.fixture(scope="module")
def proc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServiceProcess, str, Path]]:
    tmp = tmp_path_factory.mktemp("finite")
    token = secrets.token_urlsafe(24)
    db = tmp / "finite.db"
    svc = start_service(tmp, [{"name": "prop", "token": token, "roles": ["operator", "viewer", "xapp"]}],
                        backend="sqlite", sqlite_path=str(db), requests_per_s="0", max_policies="100000")
    try:
        yield svc, token, db
    finally:
        svc.stop()


def _numeric_paths(doc: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(doc, dict):
        return [p for k, v in doc.items() for p in _numeric_paths(v, (*path, k))]
    if isinstance(doc, list):
        return [p for i, v in enumerate(doc) for p in _numeric_paths(v, (*path, i))]
    return [path] if isinstance(doc, int | float) and not isinstance(doc, bool) else []


BASES = [(SLA, _full_sla()), (GUARD, _full_guard())]
#: a number on the wire: a non-finite literal, an integer beyond I-JSON, or an ordinary finite one
NUMBERS = st.one_of(
    st.sampled_from([*POISON.values(), "1e309", "-1e999", "nan", "NaN ", " Infinity"]),
    st.integers(min_value=MAX_SAFE_INTEGER + 1, max_value=10**30).map(str),
    st.integers(min_value=0, max_value=100).map(str),  # mostly in range: those bodies are stored
    st.floats(min_value=0.0, max_value=1.0).map(repr),
    st.integers(min_value=-(10**6), max_value=10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)


@st.composite
def wire_bodies(draw: st.DrawFn) -> tuple[str, str, str, str | None]:
    """(type id, policy id, JSON text, the pointer of the poisoned field, "" for text that is no JSON, or None
    when the number is finite)."""
    type_id, base = draw(st.sampled_from(BASES))
    n = draw(st.integers(min_value=0, max_value=3))
    base = json.loads(json.dumps(base))
    if type_id == SLA:  # one slice per policy id: finite bodies are stored, not refused as conflicting
        base["scope"]["sliceId"]["sst"] = 10 + n
    paths = _numeric_paths(base)
    path = draw(st.sampled_from(paths))
    if draw(st.integers(min_value=0, max_value=3)) == 0:
        # a field the schema does not know: the edge refuses a non-finite number there before the schema does
        path = (*path[:-1], draw(st.sampled_from(["extra", "x1", "n"])))
    literal = draw(NUMBERS).strip()
    try:
        bad = find_bad_number(json.loads(literal)) is not None
    except ValueError:  # "nan" is no JSON at all: refused as unparseable, with no field to name
        return type_id, f"p{n}", poisoned(base, path, literal), ""
    return type_id, f"p{n}", poisoned(base, path, literal), "/".join(map(str, path)) if bad else None


def _strict(raw: str) -> Any:
    def refuse(name: str) -> Any:
        raise AssertionError(f"non-finite literal {name} stored: {raw[:200]}")

    doc = json.loads(raw, parse_constant=refuse)
    assert find_bad_number(doc) is None, raw[:200]
    return doc


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=wire_bodies())
@example(case=(SLA, "p0", poisoned(_full_sla(), ("sliceSlaObjectives", "maxPacketDelayMs"), "nan"), ""))
@example(case=(GUARD, "p1", poisoned(_full_guard(), ("maxStepPercent",), "1e400"), "maxStepPercent"))
def test_no_non_finite_number_is_ever_stored(proc: tuple[ServiceProcess, str, Path],
                                             case: tuple[str, str, str, str | None]) -> None:
    svc, token, _ = proc
    type_id, policy_id, text, bad_field = case
    h = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
    url = f"{svc.url}{policy_url(type_id, policy_id)}"
    r = httpx.put(url, content=text, headers=h, timeout=10.0)
    assert r.status_code < 500, r.text
    if bad_field == "":
        assert r.status_code == 400, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    elif bad_field is not None:
        _problem_400(r, bad_field)
    got = httpx.get(url, headers=h, timeout=10.0)
    assert got.status_code in (200, 404)
    if got.status_code == 200:
        body = _strict(got.text)
        assert all(math.isfinite(v) for v in _leaves(body))


def _leaves(doc: Any) -> list[float]:
    if isinstance(doc, dict):
        return [x for v in doc.values() for x in _leaves(v)]
    if isinstance(doc, list):
        return [x for v in doc for x in _leaves(v)]
    return [float(doc)] if isinstance(doc, int | float) and not isinstance(doc, bool) else []


def test_the_store_and_the_audit_hold_only_finite_numbers(proc: tuple[ServiceProcess, str, Path]) -> None:
    """After the property test (same module process): read the SQLite file the service wrote."""
    svc, token, db = proc
    h = {"Authorization": f"Bearer {token}"}
    assert httpx.put(f"{svc.url}{policy_url(SLA, 'last')}", json=sla_body(sst=99), headers=h).status_code == 201
    with sqlite3.connect(db) as conn:
        policies = [row[0] for row in conn.execute("SELECT body FROM policies")]
        audit = [row[0] for row in conn.execute("SELECT body FROM audit")]
    assert policies
    assert audit
    for raw in (*policies, *audit):
        _strict(raw)
