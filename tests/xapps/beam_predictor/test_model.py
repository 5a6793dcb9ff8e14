"""The committed artefact: ONNX vs PyTorch agreement, card pairing and size, deterministic training, hot reload."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from nextric.datacard import load_card
from suite.trainers.beam import TrainConfig, net_from_onnx, train, write
from testbed.beam_data import draw_samples
from testbed.core.scenario import load_scenario
from xapps.beam_predictor.core import features
from xapps.beam_predictor.model import ARTEFACT, CARD, ModelStore, load_model
from xapps.beam_predictor.settings import MODEL_DIR, SUBSET_MODEL_DIR

TINY = TrainConfig(train_seeds=(0,), val_seeds=(500,), n_steps=20, every=5, epochs=1, hidden=16)


def test_onnx_matches_pytorch_on_testbed_reports() -> None:
    data = (MODEL_DIR / ARTEFACT).read_bytes()
    net = net_from_onnx(data)
    d = draw_samples(load_scenario("twm_poc_wide_b"), [4242], 10, 5)
    x = np.concatenate([features(d["rsrp_b_dbm"]),
                        np.random.default_rng(0).uniform(-6, 0, (256, 8)).astype(np.float32)])
    with torch.no_grad():
        want = net.probs(torch.from_numpy(x)).numpy()
    got = load_model(MODEL_DIR).predict(x)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert (got.argmax(1) == want.argmax(1)).mean() > 0.999


@pytest.mark.parametrize(("folder", "kind", "elements"), [(MODEL_DIR, "wide", 6), (SUBSET_MODEL_DIR, "subset", 16)])
def test_committed_pair_is_small_and_matched(folder: Path, kind: str, elements: int) -> None:
    data = (folder / ARTEFACT).read_bytes()
    card = load_card(folder / CARD)
    assert card.kind == "model"
    assert len(data) < 1_000_000
    assert card.raw["model"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert card.raw["configuration"]["set_a_size"] == 32
    assert len(card.raw["configuration"]["set_b"]) == 8
    assert card.raw["configuration"]["set_b_kind"] == kind
    assert card.validity_range["set_b_kind"] == {"values": [kind]}
    assert card.validity_range["set_b_elements"] == {"values": [elements]}
    assert set(card.validity_range) == {"set_a_size", "set_b", "set_b_kind", "set_b_elements", "n_antennas",
                                        "carrier_mhz"}


def test_training_is_deterministic(tmp_path: Path) -> None:
    a, card_a, _ = train(TINY)
    b, card_b, _ = train(TINY)
    assert a == b
    assert card_a.to_json() == card_b.to_json()
    write(tmp_path, a, card_a)
    assert load_model(tmp_path).sha256 == hashlib.sha256(a).hexdigest()


async def test_hot_reload_swaps_good_pairs_and_keeps_the_model_on_bad_ones(tmp_path: Path) -> None:
    for name in (ARTEFACT, CARD):
        shutil.copy(MODEL_DIR / name, tmp_path / name)
    store = ModelStore(tmp_path)
    first = store.load_now()
    assert first is not None
    assert await store.poll() is None
    data, card, _ = train(TINY)
    (tmp_path / ARTEFACT).write_bytes(data)  # artefact first: the old card no longer matches
    assert await store.poll() == "rejected"
    assert store.current is first
    assert store.last_error is not None
    assert "not a pair" in store.last_error
    (tmp_path / CARD).write_text(json.dumps(card.raw))
    assert await store.poll() == "loaded"
    assert store.current is not None
    assert store.current.version != first.version
    (tmp_path / CARD).write_text("{not json")
    assert await store.poll() == "rejected"
    assert store.current is not None
    assert store.current.sha256 == card.raw["model"]["sha256"]


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    from nextric.errors import ValidationError

    with pytest.raises(ValidationError, match="does not exist"):
        load_model(tmp_path)
    store = ModelStore(tmp_path)
    assert store.load_now() is None
    assert "does not exist" in (store.last_error or "")
