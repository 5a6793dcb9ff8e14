"""Each app subscribes with its own E2AP RIC requestor id (a subscription is named by node + RIC request id:
two apps with one id would take each other's streams over); an explicit setting wins."""

from __future__ import annotations

import pytest

from rapps.intent_agent.settings import IntentAgentSettings
from xapps.beam_predictor.settings import BeamPredictorSettings
from xapps.ce_selector.settings import CeSelectorSettings
from xapps.slice_scheduler.settings import SliceSchedulerSettings

ENV = {"NEXTRIC_XAPP_SLICE_E2__TARGET": "127.0.0.1:1", "NEXTRIC_XAPP_BEAM_E2__TARGET": "127.0.0.1:1",
       "NEXTRIC_XAPP_CE_E2__TARGET": "127.0.0.1:1", "NEXTRIC_RAPP_E2__TARGET": "127.0.0.1:1"}


def test_every_app_has_its_own_requestor_id(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    rapp = IntentAgentSettings().e2
    assert rapp is not None
    ids = [SliceSchedulerSettings().e2.ric_requestor_id, BeamPredictorSettings().e2.ric_requestor_id,
           CeSelectorSettings().e2.ric_requestor_id, rapp.ric_requestor_id]
    assert len(set(ids)) == 4, ids


def test_an_explicit_requestor_id_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXTRIC_XAPP_BEAM_E2__TARGET", "127.0.0.1:1")
    monkeypatch.setenv("NEXTRIC_XAPP_BEAM_E2__RIC_REQUESTOR_ID", "4711")
    assert BeamPredictorSettings().e2.ric_requestor_id == 4711
