"""E2AP / E2SM codec: round trips of every supported PDU, cross-codec checks against asn1tools (encode with one,
decode with the other), both KPM timestamp layouts, the RC encoder-state guard, and the mapping to nextric.e2.v1."""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import asn1tools
import pytest

from nextric.e2 import ids, measurements
from nextric.e2.v1 import common_pb2
from nextric.e2ap import kpm, mapping, rc
from nextric.e2ap import pdu as e2
from nextric.e2ap.errors import CodecError
from nextric.e2ap.schema import ASN1_DIR, COMMON, KPM_V3, RC, schema
from nextric.e2sm.rc.v1 import rc_pb2

PLMN = b"\x00\xf1\x10"  # 001/01
RID = e2.RicRequestId(1001, 7)
GUAMI = kpm.Guami(PLMN, 2, 3, 4)


@cache
def asn1tools_e2sm(module: str) -> Any:
    return asn1tools.compile_files([str(ASN1_DIR / COMMON), str(ASN1_DIR / module)], "per")


def format1(n_ues_scale: float = 1.0) -> kpm.Format1:
    label = kpm.Label(kpm.Snssai(2, b"\x00\x00\x02"))
    ms = (kpm.Measurement("DRB.UEThpDl", label), kpm.Measurement("RRU.PrbUsedDl"),
          kpm.Measurement("DRB.PacketLossRateDl", label))
    return kpm.Format1(ms, ((12.5 * n_ues_scale, 7, None), (0.1, 0, 1e-9)), 1000)


def format3(n: int = 10) -> kpm.Format3:
    return kpm.Format3(tuple((kpm.UeId("gnb", 1000 + i, GUAMI), format1(i + 1)) for i in range(n)))


PDUS: list[e2.Pdu] = [
    e2.E2SetupRequest(1, e2.GlobalGnb(PLMN, 0x19B, 28, du_id=5), (
        e2.RanFunctionItem(2, b"\x01\x02", 3, "1.3.6.1.4.1.53148.1.2.2.2"),
        e2.RanFunctionItem(3, b"\x03", 1, "1.3.6.1.4.1.53148.1.1.2.3")), (e2.Component("f1", 5, b"req", b"resp"),)),
    e2.E2SetupResponse(1, PLMN, 77, (2, 3), ((4, e2.Cause("ricService", "ran-function-not-supported")),),
                       (e2.Component("f1", 5),)),
    e2.E2SetupFailure(1, e2.Cause("protocol", "semantic-error")),
    e2.RicSubscriptionRequest(RID, 2, b"\x00\x03\xe8", (e2.RicAction(1, "report", b"\x01"), e2.RicAction(2, "insert"))),
    e2.RicSubscriptionResponse(RID, 2, (1,), ((2, e2.Cause("ricRequest", "action-not-supported")),)),
    e2.RicSubscriptionFailure(RID, 2, e2.Cause("ricRequest", "ran-function-id-invalid")),
    e2.RicSubscriptionDeleteRequest(RID, 2),
    e2.RicSubscriptionDeleteResponse(RID, 2),
    e2.RicSubscriptionDeleteFailure(RID, 2, e2.Cause("ricRequest", "request-id-unknown")),
    e2.RicIndication(RID, 2, 1, b"header", b"message", 65535),
    e2.RicIndication(RID, 2, 1, b"h", b"m"),
    e2.RicControlRequest(RID, 3, b"h", b"m"),
    e2.RicControlRequest(RID, 3, b"h", b"m", None),
    e2.RicControlAcknowledge(RID, 3, b"outcome"),
    e2.RicControlFailure(RID, 3, e2.Cause("ricRequest", "control-message-invalid")),
    e2.ErrorIndication(e2.Cause("protocol", "transfer-syntax-error"), 9, RID, 2),
    e2.ErrorIndication(),
    e2.ResetRequest(4, e2.Cause("misc", "om-intervention")),
    e2.ResetResponse(4),
    e2.E2NodeConfigurationUpdate(5, e2.GlobalGnb(PLMN, 0x19B), (e2.Component("e1", 9),)),
    e2.E2NodeConfigurationUpdateAcknowledge(5, (e2.Component("e1", 9),)),
    e2.E2NodeConfigurationUpdateFailure(5, e2.Cause("misc", "unspecified")),
]


@pytest.mark.parametrize("message", PDUS, ids=lambda m: type(m).__name__)
def test_every_e2ap_pdu_round_trips(message: e2.Pdu) -> None:
    data = e2.encode(message)
    assert e2.decode(data) == message
    assert e2.encode(e2.decode(data)) == data  # byte-identical re-encoding


def test_e2ap_ie_ids_and_procedure_codes_follow_the_standard() -> None:
    kind, body = e2.to_asn(e2.RicIndication(RID, 2, 1, b"h", b"m", 3))
    assert (kind, body["procedureCode"], body["value"][0]) == ("initiatingMessage", 5, "RICindication")
    ids_ = [ie["id"] for ie in body["value"][1]["protocolIEs"]]
    assert ids_ == [29, 5, 15, 27, 28, 25, 26]  # RICrequestID, RANfunctionID, RICactionID, SN, type, header, message
    assert e2.to_asn(e2.E2SetupRequest(1, e2.GlobalGnb(PLMN, 1), (), (e2.Component("f1", 1),)))[1]["procedureCode"] == 1
    assert e2.to_asn(e2.RicControlRequest(RID, 3, b"", b""))[1]["procedureCode"] == 4


def test_unsupported_procedure_is_typed_not_an_error() -> None:
    obj = schema().e2ap
    obj.set_val(("initiatingMessage", {"procedureCode": 6, "criticality": "ignore",
                                       "value": ("RICserviceQuery", {"protocolIEs": [
                                           {"id": 49, "criticality": "reject", "value": ("TransactionID", 3)}]})}))
    got = e2.decode(obj.to_aper())
    assert isinstance(got, e2.Unsupported)
    assert (got.message, got.procedure_code) == ("RICserviceQuery", 6)


def test_trailing_octets_and_missing_ies_are_refused() -> None:
    data = e2.encode(e2.ResetResponse(4))
    with pytest.raises(CodecError, match="left after"):
        e2.decode(data + b"\x00")
    obj = schema().e2ap
    obj.set_val(("successfulOutcome", {"procedureCode": 3, "criticality": "reject",
                                       "value": ("ResetResponse", {"protocolIEs": []})}))
    with pytest.raises(CodecError, match="mandatory IE"):
        e2.decode(obj.to_aper())


# ---------------------------------------------------------------------------------------------- KPM


@pytest.mark.parametrize(("message", "same_bytes"), [(format1(), True), (format3(1), True), (format3(10), False)],
                         ids=["format1", "format3x1", "format3x10"])
def test_kpm_messages_round_trip_and_cross_decode_with_asn1tools(message: kpm.Format1 | kpm.Format3,
                                                                  same_bytes: bool) -> None:
    data = kpm.encode_message(message)
    assert kpm.decode_message(data) == message
    other = asn1tools_e2sm(KPM_V3)
    value = other.decode("E2SM-KPM-IndicationMessage", data)
    theirs = other.encode("E2SM-KPM-IndicationMessage", value)
    assert kpm.decode_message(theirs) == message  # each codec reads the other's bytes as the same message
    # asn1tools 0.169 spends a second octet on a REAL mantissa >= 128 (112.5 = 225 x 2^-1 in format3x10), pycrate
    # uses the fewest octets (X.690 8.5.7); below that the two encodings are byte-identical
    assert (theirs == data) is same_bytes


def test_kpm_values_cross_the_codec_bit_exact() -> None:
    values = (0.1, 1 / 3, 1e-300, 123456789.123, -2.5, 5e-324, 4294967295, 0)
    ms = tuple(kpm.Measurement(f"m{i}") for i in range(len(values)))
    got = kpm.decode_message(kpm.encode_message(kpm.Format1(ms, (values,))))
    assert isinstance(got, kpm.Format1)
    assert got.records[0] == values
    assert [type(v) for v in got.records[0]] == [type(v) for v in values]


def test_asn1tools_encoded_format3_decodes_here() -> None:
    other = asn1tools_e2sm(KPM_V3)
    ue = ("gNB-DU-UEID", {"gNB-CU-UE-F1AP-ID": 17})
    rec = {"measData": [{"measRecord": [("real", 2.5), ("integer", 3), ("noValue", None)]}],
           "measInfoList": [{"measType": ("measName", n), "labelInfoList": [{"measLabel": {"noLabel": "true"}}]}
                            for n in ("a", "b", "c")]}
    data = other.encode("E2SM-KPM-IndicationMessage", {"indicationMessage-formats": (
        "indicationMessage-Format3", {"ueMeasReportList": [{"ueID": ue, "measReport": rec}]})})
    got = kpm.decode_message(data)
    assert isinstance(got, kpm.Format3)
    (ue_id, report), = got.reports
    assert ue_id == kpm.UeId("gnb-du", 17)
    assert report.records == ((2.5, 3, None),)


def test_kpm_header_layout_comes_from_the_bytes_not_the_oid() -> None:
    ntp = kpm.ntp_from_unix_ms(1_700_000_000_123)
    v3 = kpm.Header(ntp, "v3", sender_name="gnb")
    v2 = kpm.Header(ntp & ~0xFFFFFFFF, "v2", vendor_name="srs")
    assert kpm.decode_header(kpm.encode_header(v3)) == v3
    assert kpm.decode_header(kpm.encode_header(v2)) == v2
    assert len(kpm.encode_header(kpm.Header(ntp, "v3"))) - len(kpm.encode_header(kpm.Header(ntp, "v2"))) == 4
    assert kpm.unix_ms_from_ntp(kpm.decode_header(kpm.encode_header(v3)).collect_start_ntp) == 1_700_000_000_123


def test_ntp_round_trips_every_millisecond_of_a_second() -> None:
    for ms in range(0, 2000):
        assert kpm.unix_ms_from_ntp(kpm.ntp_from_unix_ms(1_000_000 + ms)) == 1_000_000 + ms


def test_kpm_definitions_round_trip() -> None:
    assert kpm.decode_event_trigger(kpm.encode_event_trigger(1000)) == 1000
    action = kpm.ActionDefinition((kpm.Measurement("DRB.UEThpDl"),), 500, kpm.NrCgi(PLMN, 0x19B001))
    assert kpm.decode_action_definition(kpm.encode_action_definition(action)) == action
    desc = kpm.FunctionDescription("ORAN-E2SM-KPM", "1.3.6.1.4.1.53148.1.2.2.2", "KPM Monitor",
                                   report_styles=(kpm.ReportStyle(1, "E2 Node Measurement", 1, ("a", "b")),))
    assert kpm.decode_function_description(kpm.encode_function_description(desc)) == desc


# ---------------------------------------------------------------------------------------------- RC


def policies(n: int) -> tuple[rc.PolicyRatio, ...]:
    return tuple(rc.PolicyRatio(((PLMN, kpm.Snssai(1 + i % 3, bytes([0, 0, i + 1]))), (PLMN, kpm.Snssai(9))),
                                10 + i, 90, i) for i in range(n))


def test_deeply_nested_rc_message_reencodes_identically_and_matches_asn1tools() -> None:
    """The encoder-state guard: without it pycrate 0.8.1 fails on the nested RRM Policy Ratio List."""
    for n in (1, 3, 8):
        data = rc.encode_slice_quota(policies(n))
        assert rc.decode_slice_quota(data) == policies(n)
        other = asn1tools_e2sm(RC)
        value = other.decode("E2SM-RC-ControlMessage", data)
        assert other.encode("E2SM-RC-ControlMessage", value) == data
        obj = schema().rc.E2SM_RC_ControlMessage
        obj.from_aper(data)
        assert obj.to_aper() == data  # pycrate re-encodes its own decoded value byte-identically


def test_rc_header_outcome_and_definition_round_trip() -> None:
    header = rc.slice_level_header(PLMN)
    assert rc.decode_header(rc.encode_header(header)) == header
    outcome = ((rc.P_MIN, ("valueInt", 20)), (rc.P_PLMN, ("valueOctS", PLMN)))
    assert rc.decode_outcome(rc.encode_outcome(outcome)) == outcome
    definition = rc.slice_quota_function("1.3.6.1.4.1.53148.1.1.2.3")
    got = rc.decode_function_definition(rc.encode_function_definition(definition))
    assert got == definition
    assert got.supports(2, 6)
    assert not got.supports(3, 1)


def test_rc_slice_quota_with_a_missing_ratio_is_refused() -> None:
    bad = rc._list(rc.P_POLICY_RATIO_LIST, [[rc._element(rc.P_MIN, ("valueInt", 5))]])
    from nextric.e2ap.asn import aper_encode

    data = aper_encode(schema().rc.E2SM_RC_ControlMessage,
                       {"ric-controlMessage-formats": ("controlMessage-Format1", {"ranP-List": [bad]})})
    with pytest.raises(CodecError, match="RAN parameter 3"):
        rc.decode_slice_quota(data)


# ---------------------------------------------------------------------------------------------- mapping


def cgi() -> common_pb2.NrCgi:
    return common_pb2.NrCgi(plmn=ids.make_plmn("001", "01"), nr_cell_identity=0x19B001)


def test_plmn_tbcd() -> None:
    assert mapping.plmn_to_bytes(ids.make_plmn("001", "01")) == b"\x00\xf1\x10"
    assert mapping.plmn_to_bytes(ids.make_plmn("310", "410")) == b"\x13\x00\x14"
    for mcc, mnc in (("001", "01"), ("310", "410"), ("999", "99")):
        assert mapping.plmn_from_bytes(mapping.plmn_to_bytes(ids.make_plmn(mcc, mnc))) == ids.make_plmn(mcc, mnc)
    with pytest.raises(CodecError):
        mapping.plmn_from_bytes(b"\xff\xff\xff")


def test_internal_kpm_crosses_e2sm_unchanged() -> None:
    urllc = ids.make_snssai(2, "000002")
    rows = [(cgi(), urllc, {measurements.THP_DL: 12.25, measurements.LOSS_DL: 0.0625}),
            (cgi(), None, {measurements.PRB_AVAIL_DL: 106.0, measurements.PRB_USED_DL: 50.5})]
    internal = measurements.build_kpm(1000, rows)
    data = kpm.encode_message(mapping.kpm_to_e2sm(internal))
    back = mapping.kpm_from_e2sm(kpm.decode_message(data), cgi(), 1000)  # type: ignore[arg-type]
    assert measurements.kpm_table(back) == measurements.kpm_table(internal)
    assert list(back.measurement_names) == list(internal.measurement_names)
    assert math.isnan(back.sets[0].values[list(back.measurement_names).index(measurements.DELAY_DL)])
    header = mapping.header_for(37_000, 1000)
    assert mapping.sim_time_of(kpm.decode_header(kpm.encode_header(header)), 1000) == 37_000


def test_internal_slice_quota_crosses_e2sm_unchanged_and_multi_cell_needs_one_quota() -> None:
    member = rc_pb2.RrmPolicyMember(plmn=ids.make_plmn("001", "01"), snssai=ids.make_snssai(1, "000001"))
    pol = rc_pb2.RrmPolicyRatio(members=[member], min_prb_policy_ratio=30, max_prb_policy_ratio=80,
                                dedicated_prb_policy_ratio=10)
    quota = rc_pb2.SliceQuotaControl(cells=[rc_pb2.CellRrmPolicy(cgi=cgi(), policies=[pol])])
    data = rc.encode_slice_quota(mapping.slice_quota_to_e2sm(quota))
    assert mapping.slice_quota_from_e2sm(rc.decode_slice_quota(data), [cgi()]) == quota
    other = common_pb2.NrCgi(plmn=cgi().plmn, nr_cell_identity=0x19B002)
    pol2 = rc_pb2.RrmPolicyRatio(members=[member], min_prb_policy_ratio=31, max_prb_policy_ratio=80)
    split = rc_pb2.SliceQuotaControl(cells=[quota.cells[0], rc_pb2.CellRrmPolicy(cgi=other, policies=[pol2])])
    with pytest.raises(Exception, match="same policies"):
        mapping.slice_quota_to_e2sm(split)


def test_causes_map_both_ways() -> None:
    from nextric.e2.v1 import e2ap_pb2

    for group, value in ((e2ap_pb2.CAUSE_GROUP_RIC_REQUEST, "control-message-invalid"),
                         (e2ap_pb2.CAUSE_GROUP_RIC_REQUEST, "event-trigger-not-supported"),
                         (e2ap_pb2.CAUSE_GROUP_PROTOCOL, "transfer-syntax-error")):
        cause = mapping.cause_to_e2ap(group, value)
        e2.encode(e2.RicControlFailure(RID, 3, cause))  # a valid E2AP cause value
        assert mapping.cause_from_e2ap(cause) == (group, value)


def test_kpm_format1_as_sent_by_the_agent_is_what_asn1tools_reads() -> None:
    internal = measurements.build_kpm(1000, [(cgi(), ids.make_snssai(1, "000001"), {measurements.THP_DL: 3.5})])
    data = kpm.encode_message(mapping.kpm_to_e2sm(internal))
    value = asn1tools_e2sm(KPM_V3).decode("E2SM-KPM-IndicationMessage", data)
    fmt, body = value["indicationMessage-formats"]
    assert fmt == "indicationMessage-Format1"
    names = [i["measType"][1] for i in body["measInfoList"]]
    assert names == list(measurements.ALL_MEASUREMENTS)
    assert body["measData"][0]["measRecord"][0] == ("real", 3.5)
    label = body["measInfoList"][0]["labelInfoList"][0]["measLabel"]
    assert label["sliceID"] == {"sST": b"\x01", "sD": b"\x00\x00\x01"}


def test_e2sm_compiles_deterministically() -> None:
    from nextric.e2ap.schema import _compile_e2sm

    a, b = _compile_e2sm(), _compile_e2sm()
    m = format1()
    assert a["E2SM_KPM_IEs"].E2SM_KPM_IndicationMessage.to_aper(
        {"indicationMessage-formats": ("indicationMessage-Format1", m.to_asn())}) == \
        b["E2SM_KPM_IEs"].E2SM_KPM_IndicationMessage.to_aper(
            {"indicationMessage-formats": ("indicationMessage-Format1", m.to_asn())}) == kpm.encode_message(m)
