"""The policy service's applied state stays bounded: beyond ``max_applied_parameters`` per-UE/target entries
and ``max_applied_cells`` cells the least recently applied are evicted (and counted), so a client naming ever
new UE or cell ids cannot grow the service's memory without limit."""

from __future__ import annotations

from collections.abc import Callable

from policy.app import create_app
from policy.settings import PolicySettings
from policy.storage.memory import MemoryBackend
from tests.policy.conftest import Tokens, auth, running


def _beam(ue: str) -> dict[str, object]:
    return {"action": {"kind": "beam_switch", "cellId": "c1", "ueId": ue, "beamId": 5}}


def _prb(cell: str) -> dict[str, object]:
    policy = {"member": {"sst": 1, "sd": "000001"}, "minPrbRatio": 20, "maxPrbRatio": 100, "dedicatedPrbRatio": 0}
    return {"action": {"kind": "slice_prb_quota", "cellId": cell, "policies": [policy]}}


def _counter(text: str, entry: str) -> float:
    prefix = f'nextric_policy_applied_evicted_total{{entry="{entry}"}} '
    return next(float(line[len(prefix):]) for line in text.splitlines() if line.startswith(prefix))


async def test_applied_state_is_capped_oldest_first(
    make_settings: Callable[..., PolicySettings], tokens: Tokens
) -> None:
    settings = make_settings(max_applied_parameters=3, max_applied_cells=2)
    async for r in running(create_app(settings, backend=MemoryBackend())):
        xapp = auth(tokens.xapp)
        for i in range(50):
            answer = await r.client.post("/guardrail/v1/applied", json=_beam(f"u{i}"), headers=xapp)
            assert answer.status_code == 200
        for cell in ("c1", "c2", "c1", "c3"):  # c1 applied again: c2 is the oldest when c3 comes
            assert (await r.client.post("/guardrail/v1/applied", json=_prb(cell), headers=xapp)).status_code == 200
        for i in range(200):  # checks for ever new cells do not grow the per-cell policy cache either
            body = {"action": {"kind": "beam_switch", "cellId": f"x{i}", "ueId": "u", "beamId": 1}}
            assert (await r.client.post("/guardrail/v1/check", json=body, headers=xapp)).status_code == 200
        guard = r.service.guard
        assert list(guard.state.current_other) == ["beam:c1:u47", "beam:c1:u48", "beam:c1:u49"]
        assert list(guard.state.current_prb) == ["c1", "c3"]
        assert len(guard.state.last_update) <= 3 + 2
        assert {cell for cell, _ in guard.tracker.tracks} <= {"c1", "c3"}
        assert len(guard._policies.per_cell) <= 2
        metrics = (await r.client.get("/metrics")).text
        assert _counter(metrics, "parameter") == 47
        assert _counter(metrics, "cell") == 1
        # an evicted UE counts as new again: its next change is allowed (no stale rate limit held against it)
        again = await r.client.post("/guardrail/v1/check", json=_beam("u0"), headers=xapp)
        assert again.json()["decision"] == "allow"


def test_limits_have_safe_defaults() -> None:
    s = PolicySettings()
    assert s.max_applied_cells == 10_000
    assert s.max_applied_parameters == 100_000
