"""Set B as wide beams (3GPP TR 38.843 BM-Case1, Set B different from Set A): scenario option, measurement model,
default serving beam and the E2 BEAM indication that says which kind the beam ids refer to."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import testbed.core.beams as bm
from nextric.e2sm.beam.v1 import beam_pb2
from nextric.errors import ConfigError
from testbed.core.engine import Emulator
from testbed.core.radio import channel_paths, link_budget
from testbed.core.scenario import load_scenario
from testbed.e2node import EmulatedGnbs

SET_B = (2, 6, 10, 14, 18, 22, 26, 30)


def test_wide_scenario_extends_the_poc_city_and_changes_only_set_b() -> None:
    base, wide = load_scenario("twm_poc"), load_scenario("twm_poc_wide_b")
    assert (base.radio.set_b_kind, base.radio.set_b_aperture) == ("subset", 16)
    assert (wide.radio.set_b_kind, wide.radio.set_b_elements, wide.radio.set_b_aperture) == ("wide", 6, 6)
    assert wide.radio.set_b == base.radio.set_b == SET_B
    assert dataclasses.replace(wide.radio, set_b_kind="subset", set_b_elements=0) == base.radio
    assert wide.cells == base.cells
    assert wide.ue_groups == base.ue_groups
    assert load_scenario("ran_limited_wide_b").cells == load_scenario("ran_limited").cells


@pytest.mark.parametrize(("text", "match"), [
    ("extends: twm_poc\nname: x\nradio: {set_b_kind: wide}\n", "set_b_elements: required"),
    ("extends: twm_poc\nname: x\nradio: {set_b_kind: narrow, set_b_elements: 4}\n", "set_b_kind: must be one of"),
    ("extends: twm_poc\nname: x\nradio: {set_b_elements: 4}\n", "only for set_b_kind: wide"),
    ("extends: twm_poc\nname: x\nradio: {set_b_kind: wide, set_b_elements: 17}\n", "must be <= 16"),
    ("extends: nowhere\nname: x\n", "unknown scenario"),
    ("extends: [twm_poc]\nname: x\n", "expected a bundled scenario name"),
])
def test_bad_wide_set_b_configuration_is_a_clear_error(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_scenario(p)


def test_wide_beams_are_measured_with_the_sub_array_kernel_and_serve_the_set_a_beam_at_their_centre() -> None:
    sc = load_scenario("twm_poc_wide_b")
    emu = Emulator(sc, seed=4)
    emu.step_fast()
    rep = emu.beam_report()
    assert (rep.set_b_kind, rep.set_b_elements) == ("wide", 6)
    assert rep.set_b.tolist() == list(SET_B)
    # the measurement: noise-free wide-beam RSRP (6-element kernel at the Set-B directions) + N(0, 1 dB), rounded
    lb = link_budget(sc, emu.cr, emu.ues)
    u_p, w_p = channel_paths(sc, emu.ues, lb)
    g = np.einsum("bpu,pu->ub", bm.path_gains_t(u_p, emu.cr.u_codebook[emu.cr.set_b], bm.gain_table(6)), w_p)
    cols = np.arange(len(emu.ue_ids))
    base = lb.rx_prb_dbm[lb.srv_slot, cols] - emu.cr.p_prb_dbm[lb.serving] + emu.cr.p_re_dbm[lb.serving]
    clean = base[:, None] + 10 * np.log10(np.maximum(g, 1e-12))
    err = rep.rsrp_dbm - clean
    inside = (rep.rsrp_dbm > -140) & (rep.rsrp_dbm < -44)
    assert abs(err[inside].mean()) < 0.1
    assert 0.9 < err[inside].std() < 1.2
    # no control: every UE is served by the Set-A beam at its strongest wide beam's centre
    np.testing.assert_array_equal(rep.serving_beam, rep.set_b[np.argmax(rep.rsrp_dbm, axis=1)])
    # wide beams see every direction: the second-strongest wide beam is rarely far below the strongest (no nulls
    # on the Set-B grid), unlike the narrow Set-B subset
    top2 = np.sort(clean, axis=1)[:, -2:]
    assert np.median(top2[:, 1] - top2[:, 0]) < 6.0


def test_wide_set_b_changes_nothing_but_the_beams_for_the_same_seed() -> None:
    a, b = Emulator(load_scenario("twm_poc"), seed=7), Emulator(load_scenario("twm_poc_wide_b"), seed=7)
    for _ in range(3):
        a.step_fast()
        b.step_fast()
    np.testing.assert_array_equal(a.ues.xy, b.ues.xy)
    np.testing.assert_array_equal(a.beam_genie().rsrp_dbm, b.beam_genie().rsrp_dbm)  # Set A is the same
    assert a.beam_report().set_b_kind == "subset"


@pytest.mark.parametrize(("scenario", "kind", "elements"), [
    ("twm_poc_wide_b", beam_pb2.SET_B_KIND_WIDE, 6), ("twm_poc", beam_pb2.SET_B_KIND_SUBSET, 16)])
def test_beam_indication_says_which_set_b_the_ids_refer_to(scenario: str, kind: int, elements: int) -> None:
    node = EmulatedGnbs(Emulator(load_scenario(scenario), seed=1))
    node.emu.step_fast()
    msg = node.beam_message(node.emu.beam_report(), node.bindings[0], 1000)
    assert msg.set_a_size == 32
    assert msg.set_b_kind == kind
    assert msg.set_b_elements == elements
    assert msg.reports
    assert all(list(r.beam_ids) == list(SET_B) for r in msg.reports)
    # an older consumer's default: unset reads as the subset kind
    assert beam_pb2.BeamIndicationMessage().set_b_kind == beam_pb2.SET_B_KIND_UNSPECIFIED
