"""E2SM-KPM (O-RAN.WG3.E2SM-KPM v02.03 / v03.00) as typed objects: event trigger (format 1, periodic), action
definition (format 1), indication header (format 1, NTP timestamps in both layouts), indication message
(formats 1 and 3) and the RAN function description.

Timestamps: KPM v02 encodes ``colletStartTime`` as 4 octets (NTP seconds), v03+ as 8 octets (NTP seconds +
fraction). srsRAN advertises the v2 OID but sends the 8-octet layout, so :func:`decode_header` picks the layout
from the bytes (the one that decodes the whole buffer), never from the OID.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from nextric.e2ap.asn import aper_decode, aper_encode, structural
from nextric.e2ap.errors import CodecError
from nextric.e2ap.schema import schema

NTP_UNIX_OFFSET_S = 2_208_988_800  #: seconds from 1900-01-01 (NTP era 0) to 1970-01-01
Layout = Literal["v3", "v2"]
Value = float | int | None  #: a measurement record item: real, integer, or noValue


# ---------------------------------------------------------------------------------------------- time


def ntp_from_unix_ms(unix_ms: int) -> int:
    """64-bit NTP timestamp (32-bit seconds since 1900 . 32-bit fraction) of a Unix time in ms."""
    seconds, ms = divmod(unix_ms, 1000)
    return ((seconds + NTP_UNIX_OFFSET_S) << 32) | ((ms << 32) // 1000 + (1 if (ms << 32) % 1000 else 0))


def unix_ms_from_ntp(ntp: int) -> int:
    """Unix time in ms (rounded down) of a 64-bit NTP timestamp."""
    return ((ntp >> 32) - NTP_UNIX_OFFSET_S) * 1000 + ((ntp & 0xFFFFFFFF) * 1000 >> 32)


# ---------------------------------------------------------------------------------------------- REAL


def real_to_asn(x: float) -> tuple[int, int, int]:
    """A finite float as an exact base-2 REAL (odd mantissa, 2, exponent): values cross the codec bit-exact."""
    if not math.isfinite(x):
        raise CodecError(f"REAL {x} cannot be encoded")
    if x == 0:
        return (0, 2, 0)
    num, den = x.as_integer_ratio()
    exponent = -(den.bit_length() - 1)
    while num % 2 == 0:  # X.690 DER/CER, as X.691 requires: the base-2 mantissa is odd
        num //= 2
        exponent += 1
    return (num, 2, exponent)


def real_from_asn(v: Any) -> float:
    mantissa, base, exponent = v
    if base is None:
        return math.nan if mantissa == 0 else math.copysign(math.inf, mantissa)
    return float(mantissa) * float(base) ** exponent if base == 10 else math.ldexp(float(mantissa), exponent)


def _record(v: Value) -> tuple[str, Any]:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ("noValue", 0)  # not measured (NaN); pycrate 0.8.1 refuses to encode REAL infinities
    if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 0xFFFFFFFF:
        return ("integer", v)
    return ("real", real_to_asn(float(v)))


def _value(item: tuple[str, Any]) -> Value:
    kind, v = item
    if kind == "integer":
        return int(v)
    if kind == "real":
        return real_from_asn(v)
    return None


# ---------------------------------------------------------------------------------------------- identities


@dataclass(frozen=True)
class Snssai:
    sst: int
    sd: bytes | None = None  #: 3 octets

    def to_asn(self) -> dict[str, Any]:
        v: dict[str, Any] = {"sST": bytes([self.sst])}
        if self.sd is not None:
            v["sD"] = self.sd
        return v

    @classmethod
    def of(cls, v: Mapping[str, Any]) -> Snssai:
        return cls(v["sST"][0], v.get("sD"))


@dataclass(frozen=True)
class NrCgi:
    plmn: bytes  #: 3 octets TBCD
    cell_identity: int  #: 36 bits

    def to_asn(self) -> tuple[str, dict[str, Any]]:
        return ("nR-CGI", {"pLMNIdentity": self.plmn, "nRCellIdentity": (self.cell_identity, 36)})

    @classmethod
    def of(cls, v: tuple[str, Any]) -> NrCgi:
        if v[0] != "nR-CGI":
            raise CodecError(f"only NR CGIs are supported, got {v[0]}")
        return cls(v[1]["pLMNIdentity"], v[1]["nRCellIdentity"][0])


@dataclass(frozen=True)
class Guami:
    plmn: bytes
    amf_region: int = 1  #: 8 bits
    amf_set: int = 1  #: 10 bits
    amf_pointer: int = 1  #: 6 bits

    def to_asn(self) -> dict[str, Any]:
        return {"pLMNIdentity": self.plmn, "aMFRegionID": (self.amf_region, 8), "aMFSetID": (self.amf_set, 10),
                "aMFPointer": (self.amf_pointer, 6)}


@dataclass(frozen=True)
class UeId:
    """A UE as E2SM names it: gNB-UEID (AMF UE NGAP id + GUAMI) or gNB-DU-UEID (gNB-CU UE F1AP id)."""

    kind: Literal["gnb", "gnb-du"]
    ue: int  #: AMF UE NGAP id (gnb) or gNB-CU UE F1AP id (gnb-du)
    guami: Guami | None = None

    def to_asn(self) -> tuple[str, dict[str, Any]]:
        if self.kind == "gnb":
            if self.guami is None:
                raise CodecError("a gNB-UEID needs a GUAMI")
            return ("gNB-UEID", {"amf-UE-NGAP-ID": self.ue, "guami": self.guami.to_asn()})
        return ("gNB-DU-UEID", {"gNB-CU-UE-F1AP-ID": self.ue})

    @classmethod
    def of(cls, v: tuple[str, Any]) -> UeId:
        kind, body = v
        if kind == "gNB-UEID":
            g = body["guami"]
            return cls("gnb", body["amf-UE-NGAP-ID"],
                       Guami(g["pLMNIdentity"], g["aMFRegionID"][0], g["aMFSetID"][0], g["aMFPointer"][0]))
        if kind == "gNB-DU-UEID":
            return cls("gnb-du", body["gNB-CU-UE-F1AP-ID"])
        raise CodecError(f"UE id {kind} is not supported (gNB-UEID, gNB-DU-UEID)")


# ---------------------------------------------------------------------------------------------- messages


@dataclass(frozen=True)
class Label:
    """A measurement label: none (cell / node level) or a slice, optionally with its PLMN."""

    snssai: Snssai | None = None
    plmn: bytes | None = None

    def to_asn(self) -> dict[str, Any]:
        if self.snssai is None and self.plmn is None:
            return {"noLabel": "true"}
        v: dict[str, Any] = {}
        if self.plmn is not None:
            v["plmnID"] = self.plmn
        if self.snssai is not None:
            v["sliceID"] = self.snssai.to_asn()
        return v

    @classmethod
    def of(cls, v: Mapping[str, Any]) -> Label:
        s = v.get("sliceID")
        return cls(None if s is None else Snssai.of(s), v.get("plmnID"))


@dataclass(frozen=True)
class Measurement:
    name: str
    label: Label = field(default_factory=Label)


@dataclass(frozen=True)
class Format1:
    """Indication message format 1: measurements (name + label) and, per granularity period, one value each."""

    measurements: tuple[Measurement, ...]
    records: tuple[tuple[Value, ...], ...]  #: [period][measurement]
    granularity_ms: int | None = None

    def to_asn(self) -> dict[str, Any]:
        for rec in self.records:
            if len(rec) != len(self.measurements):
                raise CodecError(f"a record has {len(rec)} values for {len(self.measurements)} measurements")
        v: dict[str, Any] = {
            "measData": [{"measRecord": [_record(x) for x in rec]} for rec in self.records],
            "measInfoList": [{"measType": ("measName", m.name), "labelInfoList": [{"measLabel": m.label.to_asn()}]}
                             for m in self.measurements],
        }
        if self.granularity_ms is not None:
            v["granulPeriod"] = self.granularity_ms
        return v

    @classmethod
    def of(cls, v: Mapping[str, Any]) -> Format1:
        infos = v.get("measInfoList")
        if infos is None:
            raise CodecError("KPM format 1 without measInfoList is not supported")
        measurements = []
        for info in infos:
            kind, name = info["measType"]
            if kind != "measName":
                raise CodecError("KPM measurement ids are not supported, only names")
            labels = info["labelInfoList"]
            if len(labels) != 1:
                raise CodecError(f"measurement {name} has {len(labels)} labels; one per measurement is supported")
            measurements.append(Measurement(name, Label.of(labels[0]["measLabel"])))
        records = tuple(tuple(_value(x) for x in item["measRecord"]) for item in v["measData"])
        for rec in records:
            if len(rec) != len(measurements):
                raise CodecError(f"a record has {len(rec)} values for {len(measurements)} measurements")
        return cls(tuple(measurements), records, v.get("granulPeriod"))


@dataclass(frozen=True)
class Format3:
    """Indication message format 3: one format-1 report per UE."""

    reports: tuple[tuple[UeId, Format1], ...]

    def to_asn(self) -> dict[str, Any]:
        return {"ueMeasReportList": [{"ueID": ue.to_asn(), "measReport": rep.to_asn()} for ue, rep in self.reports]}

    @classmethod
    def of(cls, v: Mapping[str, Any]) -> Format3:
        return cls(tuple((UeId.of(r["ueID"]), Format1.of(r["measReport"])) for r in v["ueMeasReportList"]))


@dataclass(frozen=True)
class Header:
    collect_start_ntp: int  #: 64-bit NTP (v2 layout: the low 32 bits are 0)
    layout: Layout = "v3"
    sender_name: str | None = None
    sender_type: str | None = None
    vendor_name: str | None = None

    def to_asn(self) -> dict[str, Any]:
        ts = self.collect_start_ntp.to_bytes(8, "big")
        v: dict[str, Any] = {"colletStartTime": ts if self.layout == "v3" else ts[:4]}
        for key, val in (("senderName", self.sender_name), ("senderType", self.sender_type),
                         ("vendorName", self.vendor_name)):
            if val is not None:
                v[key] = val
        return {"indicationHeader-formats": ("indicationHeader-Format1", v)}


@dataclass(frozen=True)
class ActionDefinition:
    """Action definition format 1 (report style 1: E2 node / cell measurements)."""

    measurements: tuple[Measurement, ...]
    granularity_ms: int
    cell: NrCgi | None = None
    style: int = 1

    def to_asn(self) -> dict[str, Any]:
        f1: dict[str, Any] = {
            "measInfoList": [{"measType": ("measName", m.name), "labelInfoList": [{"measLabel": m.label.to_asn()}]}
                             for m in self.measurements],
            "granulPeriod": self.granularity_ms}
        if self.cell is not None:
            f1["cellGlobalID"] = self.cell.to_asn()
        return {"ric-Style-Type": self.style, "actionDefinition-formats": ("actionDefinition-Format1", f1)}


@dataclass(frozen=True)
class ReportStyle:
    style: int
    name: str
    action_format: int
    measurements: tuple[str, ...]
    header_format: int = 1
    message_format: int = 1


@dataclass(frozen=True)
class FunctionDescription:
    short_name: str
    oid: str
    description: str
    event_trigger_styles: tuple[tuple[int, str, int], ...] = ((1, "Periodic Report", 1),)
    report_styles: tuple[ReportStyle, ...] = ()

    def to_asn(self) -> dict[str, Any]:
        v: dict[str, Any] = {"ranFunction-Name": {"ranFunction-ShortName": self.short_name,
                                                  "ranFunction-E2SM-OID": self.oid,
                                                  "ranFunction-Description": self.description}}
        if self.event_trigger_styles:
            v["ric-EventTriggerStyle-List"] = [
                {"ric-EventTriggerStyle-Type": t, "ric-EventTriggerStyle-Name": n, "ric-EventTriggerFormat-Type": f}
                for t, n, f in self.event_trigger_styles]
        if self.report_styles:
            v["ric-ReportStyle-List"] = [
                {"ric-ReportStyle-Type": r.style, "ric-ReportStyle-Name": r.name,
                 "ric-ActionFormat-Type": r.action_format,
                 "measInfo-Action-List": [{"measName": m} for m in r.measurements],
                 "ric-IndicationHeaderFormat-Type": r.header_format,
                 "ric-IndicationMessageFormat-Type": r.message_format}
                for r in self.report_styles]
        return v


# ---------------------------------------------------------------------------------------------- codec


def encode_event_trigger(period_ms: int) -> bytes:
    return aper_encode(schema().kpm.E2SM_KPM_EventTriggerDefinition,
                       {"eventDefinition-formats": ("eventDefinition-Format1", {"reportingPeriod": period_ms})})


@structural("KPM event trigger")
def decode_event_trigger(data: bytes) -> int:
    """The reporting period (ms) of an event trigger definition format 1."""
    v = aper_decode(schema().kpm.E2SM_KPM_EventTriggerDefinition, data, "KPM event trigger")
    return int(v["eventDefinition-formats"][1]["reportingPeriod"])


def encode_action_definition(action: ActionDefinition) -> bytes:
    return aper_encode(schema().kpm.E2SM_KPM_ActionDefinition, action.to_asn())


@structural("KPM action definition")
def decode_action_definition(data: bytes) -> ActionDefinition:
    v = aper_decode(schema().kpm.E2SM_KPM_ActionDefinition, data, "KPM action definition")
    kind, f1 = v["actionDefinition-formats"]
    if kind != "actionDefinition-Format1":
        raise CodecError(f"KPM action definition {kind} is not supported (format 1)")
    measurements = []
    for info in f1["measInfoList"]:
        mk, name = info["measType"]
        if mk != "measName":
            raise CodecError("KPM measurement ids are not supported, only names")
        for label in info["labelInfoList"]:
            measurements.append(Measurement(name, Label.of(label["measLabel"])))
    cell = f1.get("cellGlobalID")
    return ActionDefinition(tuple(measurements), f1["granulPeriod"], None if cell is None else NrCgi.of(cell),
                            v["ric-Style-Type"])


def encode_header(header: Header) -> bytes:
    kpm = schema().kpm if header.layout == "v3" else schema().kpm_v2
    return aper_encode(kpm.E2SM_KPM_IndicationHeader, header.to_asn())


@structural("KPM indication header")
def decode_header(data: bytes) -> Header:
    """Indication header format 1 in either timestamp layout: the one that decodes all of ``data`` wins (v3
    first); a buffer both read whole is taken as v3."""
    errors = []
    for layout, kpm in (("v3", schema().kpm), ("v2", schema().kpm_v2)):
        try:
            v = aper_decode(kpm.E2SM_KPM_IndicationHeader, data, "KPM indication header", whole=True)
        except CodecError as exc:
            errors.append(f"{layout}: {exc}")
            continue
        f1 = v["indicationHeader-formats"][1]
        ts = bytes(f1["colletStartTime"])
        return Header(int.from_bytes(ts.ljust(8, b"\0"), "big"), layout,  # type: ignore[arg-type]
                      f1.get("senderName"), f1.get("senderType"), f1.get("vendorName"))
    raise CodecError("not a KPM indication header: " + "; ".join(errors))


def encode_message(message: Format1 | Format3) -> bytes:
    fmt = "indicationMessage-Format1" if isinstance(message, Format1) else "indicationMessage-Format3"
    return aper_encode(schema().kpm.E2SM_KPM_IndicationMessage, {"indicationMessage-formats": (fmt, message.to_asn())})


@structural("KPM indication message")
def decode_message(data: bytes) -> Format1 | Format3:
    """Indication message format 1 or 3 (decoded with the v3 module, a superset of v2 for messages)."""
    v = aper_decode(schema().kpm.E2SM_KPM_IndicationMessage, data, "KPM indication message")
    kind, body = v["indicationMessage-formats"]
    if kind == "indicationMessage-Format1":
        return Format1.of(body)
    if kind == "indicationMessage-Format3":
        return Format3.of(body)
    raise CodecError(f"KPM {kind} is not supported (formats 1 and 3)")


def encode_function_description(desc: FunctionDescription) -> bytes:
    return aper_encode(schema().kpm.E2SM_KPM_RANfunction_Description, desc.to_asn())


@structural("KPM RAN function description")
def decode_function_description(data: bytes) -> FunctionDescription:
    v = aper_decode(schema().kpm.E2SM_KPM_RANfunction_Description, data, "KPM RAN function description")
    name = v["ranFunction-Name"]
    return FunctionDescription(
        name["ranFunction-ShortName"], name["ranFunction-E2SM-OID"], name["ranFunction-Description"],
        tuple((s["ric-EventTriggerStyle-Type"], s["ric-EventTriggerStyle-Name"], s["ric-EventTriggerFormat-Type"])
              for s in v.get("ric-EventTriggerStyle-List", [])),
        tuple(ReportStyle(s["ric-ReportStyle-Type"], s["ric-ReportStyle-Name"], s["ric-ActionFormat-Type"],
                          tuple(m["measName"] for m in s["measInfo-Action-List"]),
                          s["ric-IndicationHeaderFormat-Type"], s["ric-IndicationMessageFormat-Type"])
              for s in v.get("ric-ReportStyle-List", [])))


def format1_rows(message: Format1) -> Sequence[tuple[Label, dict[str, Value]]]:
    """The last record of a format-1 message grouped by label: [(label, {name: value})], labels in first-seen order."""
    rows: dict[Label, dict[str, Value]] = {}
    last = message.records[-1] if message.records else ()
    for m, v in zip(message.measurements, last, strict=False):
        rows.setdefault(m.label, {})[m.name] = v
    return list(rows.items())
