"""E2SM-RC (O-RAN.WG3.E2SM-RC v01.03) for slice-level PRB quota: control header format 1, control message
format 1 for style 2 ("Radio Resource Allocation Control") action 6 ("Slice-level PRB quota"), control outcome
format 1, and the control part of the RAN function definition.

The RAN parameters of action 6 (E2SM-RC clause 8.4.3.6), RRM Policy Ratio List of 3GPP TS 28.541:

    1 RRM Policy Ratio List (LIST)
      2 RRM Policy Ratio Group (STRUCTURE)
        3 RRM Policy (STRUCTURE)
          4 RRM Policy Member List (LIST)
            5 RRM Policy Member (STRUCTURE)
              6 PLMN Identity (ELEMENT, OCTET STRING)
              7 S-NSSAI (STRUCTURE): 8 SST (ELEMENT, OCTET STRING), 9 SD (ELEMENT, OCTET STRING)
        10 Min PRB Policy Ratio, 11 Max PRB Policy Ratio, 12 Dedicated PRB Policy Ratio (ELEMENT, INTEGER, %)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nextric.e2ap.asn import aper_decode, aper_encode, structural
from nextric.e2ap.errors import CodecError
from nextric.e2ap.kpm import Guami, Snssai, UeId
from nextric.e2ap.schema import schema

STYLE_RADIO_RESOURCE_ALLOCATION = 2
ACTION_SLICE_PRB_QUOTA = 6
P_POLICY_RATIO_LIST, P_POLICY_RATIO_GROUP, P_POLICY, P_MEMBER_LIST, P_MEMBER = 1, 2, 3, 4, 5
P_PLMN, P_SNSSAI, P_SST, P_SD, P_MIN, P_MAX, P_DEDICATED = 6, 7, 8, 9, 10, 11, 12
PARAMETER_NAMES = {
    P_POLICY_RATIO_LIST: "RRM Policy Ratio List", P_POLICY_RATIO_GROUP: "RRM Policy Ratio Group",
    P_POLICY: "RRM Policy", P_MEMBER_LIST: "RRM Policy Member List", P_MEMBER: "RRM Policy Member",
    P_PLMN: "PLMN Identity", P_SNSSAI: "S-NSSAI", P_SST: "SST", P_SD: "SD",
    P_MIN: "Min PRB Policy Ratio", P_MAX: "Max PRB Policy Ratio", P_DEDICATED: "Dedicated PRB Policy Ratio",
}


@dataclass(frozen=True)
class PolicyRatio:
    """One RRM policy: its members {PLMN, S-NSSAI} and the min / max / dedicated PRB ratios in percent."""

    members: tuple[tuple[bytes, Snssai], ...]
    min_ratio: int
    max_ratio: int
    dedicated_ratio: int


@dataclass(frozen=True)
class ControlHeader:
    ue: UeId
    style: int = STYLE_RADIO_RESOURCE_ALLOCATION
    action: int = ACTION_SLICE_PRB_QUOTA


@dataclass(frozen=True)
class ControlAction:
    action_id: int
    name: str
    parameters: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class ControlStyle:
    style: int
    name: str
    actions: tuple[ControlAction, ...]
    header_format: int = 1
    message_format: int = 1
    outcome_format: int = 1


@dataclass(frozen=True)
class FunctionDefinition:
    short_name: str
    oid: str
    description: str
    control_styles: tuple[ControlStyle, ...]

    def supports(self, style: int, action: int) -> bool:
        return any(s.style == style and any(a.action_id == action for a in s.actions) for s in self.control_styles)


def slice_quota_function(oid: str, short_name: str = "ORAN-E2SM-RC") -> FunctionDefinition:
    """The RC function of a DU that takes slice-level PRB quotas (style 2, action 6)."""
    return FunctionDefinition(short_name, oid, "RAN Control", (ControlStyle(
        STYLE_RADIO_RESOURCE_ALLOCATION, "Radio Resource Allocation Control",
        (ControlAction(ACTION_SLICE_PRB_QUOTA, "Slice-level PRB quota", tuple(sorted(PARAMETER_NAMES.items()))),)),))


# ---------------------------------------------------------------------------------------------- RAN parameters


def _element(pid: int, value: tuple[str, Any]) -> dict[str, Any]:
    return {"ranParameter-ID": pid,
            "ranParameter-valueType": ("ranP-Choice-ElementFalse", {"ranParameter-value": value})}


def _structure(pid: int, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"ranParameter-ID": pid, "ranParameter-valueType": (
        "ranP-Choice-Structure", {"ranParameter-Structure": {"sequence-of-ranParameters": items}})}


def _list(pid: int, structures: list[list[dict[str, Any]]]) -> dict[str, Any]:
    return {"ranParameter-ID": pid, "ranParameter-valueType": ("ranP-Choice-List", {"ranParameter-List": {
        "list-of-ranParameter": [{"sequence-of-ranParameters": s} for s in structures]}})}


def _member(plmn: bytes, snssai: Snssai) -> list[dict[str, Any]]:
    nssai = [_element(P_SST, ("valueOctS", bytes([snssai.sst])))]
    if snssai.sd is not None:
        nssai.append(_element(P_SD, ("valueOctS", snssai.sd)))
    return [_element(P_PLMN, ("valueOctS", plmn)), _structure(P_SNSSAI, nssai)]


def _group(p: PolicyRatio) -> list[dict[str, Any]]:
    return [_structure(P_POLICY, [_list(P_MEMBER_LIST, [_member(plmn, s) for plmn, s in p.members])]),
            _element(P_MIN, ("valueInt", p.min_ratio)), _element(P_MAX, ("valueInt", p.max_ratio)),
            _element(P_DEDICATED, ("valueInt", p.dedicated_ratio))]


def _params(items: Sequence[Mapping[str, Any]]) -> dict[int, tuple[str, Any]]:
    """{RAN parameter id: value type} of one structure; duplicate ids are refused."""
    out: dict[int, tuple[str, Any]] = {}
    for it in items:
        pid = it["ranParameter-ID"]
        if pid in out:
            raise CodecError(f"RAN parameter {pid} appears twice in one structure")
        out[pid] = it["ranParameter-valueType"]
    return out


def _need(params: Mapping[int, tuple[str, Any]], pid: int, kind: str) -> Any:
    vt = params.get(pid)
    if vt is None:
        raise CodecError(f"RAN parameter {pid} ({PARAMETER_NAMES.get(pid, '?')}) is missing")
    if kind == "element":
        if vt[0] not in ("ranP-Choice-ElementTrue", "ranP-Choice-ElementFalse") or "ranParameter-value" not in vt[1]:
            raise CodecError(f"RAN parameter {pid} ({PARAMETER_NAMES.get(pid, '?')}) must be an element with a value")
        return vt[1]["ranParameter-value"]
    if kind == "structure":
        if vt[0] != "ranP-Choice-Structure":
            raise CodecError(f"RAN parameter {pid} ({PARAMETER_NAMES.get(pid, '?')}) must be a structure")
        return vt[1]["ranParameter-Structure"].get("sequence-of-ranParameters", [])
    if vt[0] != "ranP-Choice-List":
        raise CodecError(f"RAN parameter {pid} ({PARAMETER_NAMES.get(pid, '?')}) must be a list")
    return [s.get("sequence-of-ranParameters", []) for s in vt[1]["ranParameter-List"]["list-of-ranParameter"]]


def _octets(value: tuple[str, Any], pid: int, size: int) -> bytes:
    if value[0] != "valueOctS" or len(value[1]) != size:
        raise CodecError(f"RAN parameter {pid} ({PARAMETER_NAMES[pid]}) must be {size} octets")
    return bytes(value[1])


def _ratio(value: tuple[str, Any], pid: int) -> int:
    if value[0] != "valueInt" or not 0 <= value[1] <= 100:
        raise CodecError(f"RAN parameter {pid} ({PARAMETER_NAMES[pid]}) must be an integer percentage 0..100")
    return int(value[1])


def _policy(group: Sequence[Mapping[str, Any]]) -> PolicyRatio:
    g = _params(group)
    members = []
    for member in _need(_params(_need(g, P_POLICY, "structure")), P_MEMBER_LIST, "list"):
        m = _params(member)  # the list item is the member structure (or, from some peers, wraps parameter 5)
        if P_MEMBER in m:
            m = _params(_need(m, P_MEMBER, "structure"))
        plmn = _octets(_need(m, P_PLMN, "element"), P_PLMN, 3)
        s = _params(_need(m, P_SNSSAI, "structure"))
        sd = _octets(_need(s, P_SD, "element"), P_SD, 3) if P_SD in s else None
        members.append((plmn, Snssai(_octets(_need(s, P_SST, "element"), P_SST, 1)[0], sd)))
    return PolicyRatio(tuple(members), _ratio(_need(g, P_MIN, "element"), P_MIN),
                       _ratio(_need(g, P_MAX, "element"), P_MAX), _ratio(_need(g, P_DEDICATED, "element"), P_DEDICATED))


# ---------------------------------------------------------------------------------------------- codec


def encode_header(header: ControlHeader) -> bytes:
    return aper_encode(schema().rc.E2SM_RC_ControlHeader, {"ric-controlHeader-formats": ("controlHeader-Format1", {
        "ueID": header.ue.to_asn(), "ric-Style-Type": header.style, "ric-ControlAction-ID": header.action})})


@structural("RC control header")
def decode_header(data: bytes) -> ControlHeader:
    v = aper_decode(schema().rc.E2SM_RC_ControlHeader, data, "RC control header")
    f1 = v["ric-controlHeader-formats"][1]
    return ControlHeader(UeId.of(f1["ueID"]), f1["ric-Style-Type"], f1["ric-ControlAction-ID"])


def slice_level_header(plmn: bytes) -> ControlHeader:
    """Header of a slice-level control: the UE id is mandatory in format 1 and names no UE here (AMF UE NGAP id 0)."""
    return ControlHeader(UeId("gnb", 0, Guami(plmn)))


def encode_slice_quota(policies: Sequence[PolicyRatio]) -> bytes:
    """Control message format 1 carrying the RRM Policy Ratio List (style 2, action 6)."""
    ran_p = [_list(P_POLICY_RATIO_LIST, [_group(p) for p in policies])]
    return aper_encode(schema().rc.E2SM_RC_ControlMessage,
                       {"ric-controlMessage-formats": ("controlMessage-Format1", {"ranP-List": ran_p})})


@structural("RC slice quota")
def decode_slice_quota(data: bytes) -> tuple[PolicyRatio, ...]:
    v = aper_decode(schema().rc.E2SM_RC_ControlMessage, data, "RC control message")
    top = _params(v["ric-controlMessage-formats"][1]["ranP-List"])
    groups = _need(top, P_POLICY_RATIO_LIST, "list")
    return tuple(_policy(_need(_params(g), P_POLICY_RATIO_GROUP, "structure") if P_POLICY_RATIO_GROUP in _params(g)
                         else g) for g in groups)


def encode_outcome(values: Sequence[tuple[int, tuple[str, Any]]]) -> bytes:
    """Control outcome format 1: (RAN parameter id, value) pairs the node reports back."""
    return aper_encode(schema().rc.E2SM_RC_ControlOutcome, {"ric-controlOutcome-formats": ("controlOutcome-Format1", {
        "ranP-List": [{"ranParameter-ID": pid, "ranParameter-value": val} for pid, val in values]})})


@structural("RC control outcome")
def decode_outcome(data: bytes) -> tuple[tuple[int, tuple[str, Any]], ...]:
    v = aper_decode(schema().rc.E2SM_RC_ControlOutcome, data, "RC control outcome")
    items = v["ric-controlOutcome-formats"][1]["ranP-List"]
    return tuple((it["ranParameter-ID"], it["ranParameter-value"]) for it in items)


def encode_function_definition(definition: FunctionDefinition) -> bytes:
    styles = []
    for s in definition.control_styles:
        actions = []
        for a in s.actions:
            act: dict[str, Any] = {"ric-ControlAction-ID": a.action_id, "ric-ControlAction-Name": a.name}
            if a.parameters:
                act["ran-ControlActionParameters-List"] = [
                    {"ranParameter-ID": pid, "ranParameter-name": name} for pid, name in a.parameters]
            actions.append(act)
        styles.append({"ric-ControlStyle-Type": s.style, "ric-ControlStyle-Name": s.name,
                       "ric-ControlAction-List": actions, "ric-ControlHeaderFormat-Type": s.header_format,
                       "ric-ControlMessageFormat-Type": s.message_format,
                       "ric-ControlOutcomeFormat-Type": s.outcome_format})
    return aper_encode(schema().rc.E2SM_RC_RANFunctionDefinition, {
        "ranFunction-Name": {"ranFunction-ShortName": definition.short_name, "ranFunction-E2SM-OID": definition.oid,
                             "ranFunction-Description": definition.description},
        "ranFunctionDefinition-Control": {"ric-ControlStyle-List": styles}})


@structural("RC RAN function definition")
def decode_function_definition(data: bytes) -> FunctionDefinition:
    """The control part of an RC RAN function definition (:class:`CodecError` when other parts are present:
    the vendored subset does not type them)."""
    v = aper_decode(schema().rc.E2SM_RC_RANFunctionDefinition, data, "RC RAN function definition")
    name = v["ranFunction-Name"]
    styles = tuple(ControlStyle(
        s["ric-ControlStyle-Type"], s["ric-ControlStyle-Name"],
        tuple(ControlAction(a["ric-ControlAction-ID"], a["ric-ControlAction-Name"],
                            tuple((p["ranParameter-ID"], p["ranParameter-name"])
                                  for p in a.get("ran-ControlActionParameters-List", [])))
              for a in s.get("ric-ControlAction-List", [])),
        s["ric-ControlHeaderFormat-Type"], s["ric-ControlMessageFormat-Type"], s["ric-ControlOutcomeFormat-Type"])
        for s in v.get("ranFunctionDefinition-Control", {}).get("ric-ControlStyle-List", []))
    return FunctionDefinition(name["ranFunction-ShortName"], name["ranFunction-E2SM-OID"],
                              name["ranFunction-Description"], styles)
