"""E2AP PDUs as typed Python objects (O-RAN.WG3.E2AP, APER), and their encoding with pycrate's E2AP.

Supported procedures: E2 Setup, RIC Subscription (+ Delete), RIC Indication, RIC Control (+ Acknowledge /
Failure), Error Indication, Reset, E2 Node Configuration Update. IE ids, criticalities and procedure codes come
from the compiled E2AP tables, not from constants typed here. :func:`decode` turns any malformed input into
:class:`~nextric.e2ap.errors.CodecError` (never another exception); an unsupported but well-formed procedure is
:class:`Unsupported`, so a peer can answer it with an Error Indication.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar, Literal

from nextric.e2ap.asn import aper_decode, aper_encode, structural
from nextric.e2ap.errors import CodecError
from nextric.e2ap.schema import schema

CAUSE_GROUPS = ("ricRequest", "ricService", "e2Node", "transport", "protocol", "misc")
Kind = Literal["initiatingMessage", "successfulOutcome", "unsuccessfulOutcome"]


@dataclass(frozen=True)
class RicRequestId:
    requestor: int  #: 0..65535
    instance: int  #: 0..65535

    def to_asn(self) -> dict[str, int]:
        return {"ricRequestorID": self.requestor, "ricInstanceID": self.instance}

    @classmethod
    def of(cls, v: Mapping[str, int]) -> RicRequestId:
        return cls(v["ricRequestorID"], v["ricInstanceID"])


@dataclass(frozen=True)
class Cause:
    """E2AP Cause (clause 9.2.1): group (``ricRequest``, ``ricService``, ``e2Node``, ``transport``, ``protocol``,
    ``misc``) and the E2AP value name, e.g. ``Cause("ricRequest", "control-message-invalid")``."""

    group: str
    value: str

    def to_asn(self) -> tuple[str, str]:
        return (self.group, self.value)

    @classmethod
    def of(cls, v: tuple[str, str]) -> Cause:
        return cls(v[0], v[1])

    def __str__(self) -> str:
        return f"{self.group}/{self.value}"


@dataclass(frozen=True)
class GlobalGnb:
    """GlobalE2node-gNB-ID: PLMN (3 octets, TBCD), gNB id with its bit length (22..32), optional DU / CU-UP id."""

    plmn: bytes
    gnb_id: int
    gnb_id_bits: int = 28
    du_id: int | None = None
    cu_up_id: int | None = None

    def to_asn(self) -> tuple[str, dict[str, Any]]:
        gnb = {"plmn-id": self.plmn, "gnb-id": ("gnb-ID", (self.gnb_id, self.gnb_id_bits))}
        v: dict[str, Any] = {"global-gNB-ID": gnb}
        if self.cu_up_id is not None:
            v["gNB-CU-UP-ID"] = self.cu_up_id
        if self.du_id is not None:
            v["gNB-DU-ID"] = self.du_id
        return ("gNB", v)

    @classmethod
    def of(cls, v: tuple[str, Any]) -> GlobalGnb:
        if v[0] != "gNB":
            raise CodecError(f"only gNB E2 nodes are supported, got {v[0]}")
        body = v[1]
        gnb_id, bits = body["global-gNB-ID"]["gnb-id"][1]
        return cls(body["global-gNB-ID"]["plmn-id"], gnb_id, bits, body.get("gNB-DU-ID"), body.get("gNB-CU-UP-ID"))


@dataclass(frozen=True)
class RanFunctionItem:
    function_id: int
    definition: bytes  #: the service model's RAN function definition (E2SM-KPM / E2SM-RC, APER)
    revision: int
    oid: str

    def to_asn(self) -> dict[str, Any]:
        return {"ranFunctionID": self.function_id, "ranFunctionDefinition": self.definition,
                "ranFunctionRevision": self.revision, "ranFunctionOID": self.oid}

    @classmethod
    def of(cls, v: Mapping[str, Any]) -> RanFunctionItem:
        return cls(v["ranFunctionID"], v["ranFunctionDefinition"], v["ranFunctionRevision"],
                   v.get("ranFunctionOID", ""))


_COMPONENT_CHOICE = {"ng": "NG", "xn": "Xn", "e1": "E1", "f1": "F1", "w1": "W1", "s1": "S1", "x2": "X2"}


@dataclass(frozen=True)
class Component:
    """An E2 node component (E2nodeComponentConfigAddition item): interface type and the interface's id.

    Only the F1 (gNB-DU-ID) and E1 (gNB-CU-UP-ID) ids are typed; ``request``/``response`` are the interface
    setup messages the node chose to report (opaque here)."""

    interface: str  #: ng, xn, e1, f1, w1, s1, x2
    component_id: int
    request: bytes = b""
    response: bytes = b""

    def id_asn(self) -> tuple[str, dict[str, int]]:
        if self.interface == "f1":
            return ("e2nodeComponentInterfaceTypeF1", {"gNB-DU-ID": self.component_id})
        if self.interface == "e1":
            return ("e2nodeComponentInterfaceTypeE1", {"gNB-CU-UP-ID": self.component_id})
        raise CodecError(f"component interface {self.interface} is not supported (f1, e1)")

    def to_asn(self) -> dict[str, Any]:
        return {"e2nodeComponentInterfaceType": self.interface, "e2nodeComponentID": self.id_asn(),
                "e2nodeComponentConfiguration": {"e2nodeComponentRequestPart": self.request,
                                                 "e2nodeComponentResponsePart": self.response}}

    @classmethod
    def of(cls, v: Mapping[str, Any]) -> Component:
        _, ident = v["e2nodeComponentID"]
        number = next(iter(ident.values())) if isinstance(ident, dict) and ident else 0
        conf = v["e2nodeComponentConfiguration"]
        return cls(v["e2nodeComponentInterfaceType"], int(number) if isinstance(number, int) else 0,
                   conf["e2nodeComponentRequestPart"], conf["e2nodeComponentResponsePart"])

    @classmethod
    def of_ack(cls, v: Mapping[str, Any]) -> Component:
        _, ident = v["e2nodeComponentID"]
        number = next(iter(ident.values())) if isinstance(ident, dict) and ident else 0
        return cls(v["e2nodeComponentInterfaceType"], int(number) if isinstance(number, int) else 0)

    def ack_asn(self, cause: Cause | None = None) -> dict[str, Any]:
        ack: dict[str, Any] = {"updateOutcome": "success" if cause is None else "failure"}
        if cause is not None:
            ack["failureCause"] = cause.to_asn()
        return {"e2nodeComponentInterfaceType": self.interface, "e2nodeComponentID": self.id_asn(),
                "e2nodeComponentConfigurationAck": ack}


@dataclass(frozen=True)
class RicAction:
    action_id: int
    action_type: str = "report"  #: report, insert, policy
    definition: bytes | None = None

    def to_asn(self) -> dict[str, Any]:
        v: dict[str, Any] = {"ricActionID": self.action_id, "ricActionType": self.action_type}
        if self.definition is not None:
            v["ricActionDefinition"] = self.definition
        return v

    @classmethod
    def of(cls, v: Mapping[str, Any]) -> RicAction:
        return cls(v["ricActionID"], v["ricActionType"], v.get("ricActionDefinition"))


# ---------------------------------------------------------------------------------------------- messages


class Pdu:
    """Base of the typed messages: ``NAME`` is the E2AP message type, ``KIND`` the PDU choice."""

    NAME: ClassVar[str]
    KIND: ClassVar[Kind]

    def ies(self) -> Iterator[tuple[str, Any]]:
        """(IE type name, pycrate value) of the IEs present, in the order of the message's IE table."""
        raise NotImplementedError

    @classmethod
    def from_ies(cls, ies: Mapping[str, Any]) -> Pdu:
        raise NotImplementedError


def _items(ie_name: str, values: list[Any]) -> list[dict[str, Any]]:
    """A ProtocolIE-SingleContainer list (e.g. RANfunctions-List) of ``ie_name`` items."""
    ie_id, crit = _single_ie(ie_name)
    return [{"id": ie_id, "criticality": crit, "value": (ie_name, v)} for v in values]


def _unwrap(items: list[dict[str, Any]] | None) -> list[Any]:
    return [it["value"][1] for it in items or []]


@dataclass(frozen=True)
class E2SetupRequest(Pdu):
    NAME: ClassVar[str] = "E2setupRequest"
    KIND: ClassVar[Kind] = "initiatingMessage"
    transaction_id: int
    node: GlobalGnb
    functions: tuple[RanFunctionItem, ...]
    components: tuple[Component, ...]

    def ies(self) -> Iterator[tuple[str, Any]]:
        yield "TransactionID", self.transaction_id
        yield "GlobalE2node-ID", self.node.to_asn()
        yield "RANfunctions-List", _items("RANfunction-Item", [f.to_asn() for f in self.functions])
        yield "E2nodeComponentConfigAddition-List", _items(
            "E2nodeComponentConfigAddition-Item", [c.to_asn() for c in self.components])

    @classmethod
    def from_ies(cls, ies: Mapping[str, Any]) -> E2SetupRequest:
        return cls(ies["TransactionID"], GlobalGnb.of(ies["GlobalE2node-ID"]),
                   tuple(RanFunctionItem.of(v) for v in _unwrap(ies["RANfunctions-List"])),
                   tuple(Component.of(v) for v in _unwrap(ies["E2nodeComponentConfigAddition-List"])))


@dataclass(frozen=True)
class E2SetupResponse(Pdu):
    NAME: ClassVar[str] = "E2setupResponse"
    KIND: ClassVar[Kind] = "successfulOutcome"
    transaction_id: int
    ric_plmn: bytes
    ric_id: int  #: 20 bits
    accepted: tuple[int, ...]
    rejected: tuple[tuple[int, Cause], ...] = ()
    components: tuple[Component, ...] = ()

    def ies(self) -> Iterator[tuple[str, Any]]:
        yield "TransactionID", self.transaction_id
        yield "GlobalRIC-ID", {"pLMN-Identity": self.ric_plmn, "ric-ID": (self.ric_id, 20)}
        if self.accepted:
            yield "RANfunctionsID-List", _items("RANfunctionID-Item", [
                {"ranFunctionID": f, "ranFunctionRevision": 0} for f in self.accepted])
        if self.rejected:
            yield "RANfunctionsIDcause-List", _items("RANfunctionIDcause-Item", [
                {"ranFunctionID": f, "cause": c.to_asn()} for f, c in self.rejected])
        yield "E2nodeComponentConfigAdditionAck-List", _items(
            "E2nodeComponentConfigAdditionAck-Item", [c.ack_asn() for c in self.components])

    @classmethod
    def from_ies(cls, ies: Mapping[str, Any]) -> E2SetupResponse:
        ric = ies["GlobalRIC-ID"]
        return cls(ies["TransactionID"], ric["pLMN-Identity"], ric["ric-ID"][0],
                   tuple(v["ranFunctionID"] for v in _unwrap(ies.get("RANfunctionsID-List"))),
                   tuple((v["ranFunctionID"], Cause.of(v["cause"]))
                         for v in _unwrap(ies.get("RANfunctionsIDcause-List"))),
                   tuple(Component.of_ack(v) for v in _unwrap(ies["E2nodeComponentConfigAdditionAck-List"])))


@dataclass(frozen=True)
class _TransactionCause(Pdu):
    transaction_id: int
    cause: Cause

    def ies(self) -> Iterator[tuple[str, Any]]:
        yield "TransactionID", self.transaction_id
        yield "Cause", self.cause.to_asn()

    @classmethod
    def from_ies(cls, ies: Mapping[str, Any]) -> _TransactionCause:
        return cls(ies["TransactionID"], Cause.of(ies["Cause"]))


@dataclass(frozen=True)
class E2SetupFailure(_TransactionCause):
    NAME: ClassVar[str] = "E2setupFailure"
    KIND: ClassVar[Kind] = "unsuccessfulOutcome"


@dataclass(frozen=True)
class RicSubscriptionRequest(Pdu):
    NAME: ClassVar[str] = "RICsubscriptionRequest"
    KIND: ClassVar[Kind] = "initiatingMessage"
    request: RicRequestId
    function_id: int
    event_trigger: bytes
    actions: tuple[RicAction, ...]

    def ies(self) -> Iterator[tuple[str, Any]]:
        yield "RICrequestID", self.request.to_asn()
        yield "RANfunctionID", self.function_id
        yield "RICsubscriptionDetails", {
            "ricEventTriggerDefinition": self.event_trigger,
            "ricAction-ToBeSetup-List": _items("RICaction-ToBeSetup-Item", [a.to_asn() for a in self.actions])}

    @classmethod
    def from_ies(cls, ies: Mapping[str, Any]) -> RicSubscriptionRequest:
        details = ies["RICsubscriptionDetails"]
        return cls(RicRequestId.of(ies["RICrequestID"]), ies["RANfunctionID"], details["ricEventTriggerDefinition"],
                   tuple(RicAction.of(v) for v in _unwrap(details["ricAction-ToBeSetup-List"])))


@dataclass(frozen=True)
class RicSubscriptionResponse(Pdu):
    NAME: ClassVar[str] = "RICsubscriptionResponse"
    KIND: ClassVar[Kind] = "successfulOutcome"
    request: RicRequestId
    function_id: int
    admitted: tuple[int, ...]
    not_admitted: tuple[tuple[int, Cause], ...] = ()

    def ies(self) -> Iterator[tuple[str, Any]]:
        yield "RICrequestID", self.request.to_asn()
        yield "RANfunctionID", self.function_id
        yield "RICaction-Admitted-List", _items("RICaction-Admitted-Item", [{"ricActionID": a} for a in self.admitted])
        if self.not_admitted:
            yield "RICaction-NotAdmitted-List", _items("RICaction-NotAdmitted-Item", [
                {"ricActionID": a, "cause": c.to_asn()} for a, c in self.not_admitted])

    @classmethod
    def from_ies(cls, ies: Mapping[str, Any]) -> RicSubscriptionResponse:
        return cls(RicRequestId.of(ies["RICrequestID"]), ies["RANfunctionID"],
                   tuple(v["ricActionID"] for v in _unwrap(ies["RICaction-Admitted-List"])),
                   tuple((v["ricActionID"], Cause.of(v["cause"]))
                         for v in _unwrap(ies.get("RICaction-NotAdmitted-List"))))


@dataclass(frozen=True)
class _RequestCause(Pdu):
    request: RicRequestId
    function_id: int
    cause: Cause

    def ies(self) -> Iterator[tuple[str, Any]]:
        yield "RICrequestID", self.request.to_asn()
        yield "RANfunctionID", self.function_id
        yield "Cause", self.cause.to_asn()

    @classmethod
    def from_ies(cls, ies: Mapping[str, Any]) -> _RequestCause:
        return cls(RicRequestId.of(ies["RICrequestID"]), ies["RANfunctionID"], Cause.of(ies["Cause"]))


@dataclass(frozen=True)
class RicSubscriptionFailure(_RequestCause):
    NAME: ClassVar[str] = "RICsubscriptionFailure"
    KIND: ClassVar[Kind] = "unsuccessfulOutcome"


@dataclass(frozen=True)
class RicSubscriptionDeleteFailure(_RequestCause):
    NAME: ClassVar[str] = "RICsubscriptionDeleteFailure"
    KIND: ClassVar[Kind] = "unsuccessfulOutcome"


@dataclass(frozen=True)
class _RequestOnly(Pdu):
    request: RicRequestId
    function_id: int

    def ies(self) -> Iterator[tuple[str, Any]]:
        yield "RICrequestID", self.request.to_asn()
        yield "RANfunctionID", self.function_id

    @classmethod
    def from_ies(cls, ies: Mapping[str, Any]) -> _RequestOnly:
        return cls(RicRequestId.of(ies["RICrequestID"]), ies["RANfunctionID"])


@dataclass(frozen=True)
class RicSubscriptionDeleteRequest(_RequestOnly):
    NAME: ClassVar[str] = "RICsubscriptionDeleteRequest"
    KIND: ClassVar[Kind] = "initiatingMessage"


@dataclass(frozen=True)
class RicSubscriptionDeleteResponse(_RequestOnly):
    NAME: ClassVar[str] = "RICsubscriptionDeleteResponse"
    KIND: ClassVar[Kind] = "successfulOutcome"


@dataclass(frozen=True)
class RicIndication(Pdu):
    NAME: ClassVar[str] = "RICindication"
    KIND: ClassVar[Kind] = "initiatingMessage"
    request: RicRequestId
    function_id: int
    action_id: int
    header: bytes
    message: bytes
    sequence: int | None = None  #: RICindicationSN 0..65535
    indication_type: str = "report"

    def ies(self) -> Iterator[tuple[str, Any]]:
        yield "RICrequestID", self.request.to_asn()
        yield "RANfunctionID", self.function_id
        yield "RICactionID", self.action_id
        if self.sequence is not None:
            yield "RICindicationSN", self.sequence
        yield "RICindicationType", self.indication_type
        yield "RICindicationHeader", self.header
        yield "RICindicationMessage", self.message

    @classmethod
    def from_ies(cls, ies: Mapping[str, Any]) -> RicIndication:
        return cls(RicRequestId.of(ies["RICrequestID"]), ies["RANfunctionID"], ies["RICactionID"],
                   ies["RICindicationHeader"], ies["RICindicationMessage"], ies.get("RICindicationSN"),
                   ies["RICindicationType"])


@dataclass(frozen=True)
class RicControlRequest(Pdu):
    NAME: ClassVar[str] = "RICcontrolRequest"
    KIND: ClassVar[Kind] = "initiatingMessage"
    request: RicRequestId
    function_id: int
    header: bytes
    message: bytes
    ack_request: str | None = "ack"  #: noAck, ack (absent: the node's default)

    def ies(self) -> Iterator[tuple[str, Any]]:
        yield "RICrequestID", self.request.to_asn()
        yield "RANfunctionID", self.function_id
        yield "RICcontrolHeader", self.header
        yield "RICcontrolMessage", self.message
        if self.ack_request is not None:
            yield "RICcontrolAckRequest", self.ack_request

    @classmethod
    def from_ies(cls, ies: Mapping[str, Any]) -> RicControlRequest:
        return cls(RicRequestId.of(ies["RICrequestID"]), ies["RANfunctionID"], ies["RICcontrolHeader"],
                   ies["RICcontrolMessage"], ies.get("RICcontrolAckRequest"))


@dataclass(frozen=True)
class RicControlAcknowledge(Pdu):
    NAME: ClassVar[str] = "RICcontrolAcknowledge"
    KIND: ClassVar[Kind] = "successfulOutcome"
    request: RicRequestId
    function_id: int
    outcome: bytes | None = None

    def ies(self) -> Iterator[tuple[str, Any]]:
        yield "RICrequestID", self.request.to_asn()
        yield "RANfunctionID", self.function_id
        if self.outcome is not None:
            yield "RICcontrolOutcome", self.outcome

    @classmethod
    def from_ies(cls, ies: Mapping[str, Any]) -> RicControlAcknowledge:
        return cls(RicRequestId.of(ies["RICrequestID"]), ies["RANfunctionID"], ies.get("RICcontrolOutcome"))


@dataclass(frozen=True)
class RicControlFailure(_RequestCause):
    NAME: ClassVar[str] = "RICcontrolFailure"
    KIND: ClassVar[Kind] = "unsuccessfulOutcome"


@dataclass(frozen=True)
class ErrorIndication(Pdu):
    NAME: ClassVar[str] = "ErrorIndication"
    KIND: ClassVar[Kind] = "initiatingMessage"
    cause: Cause | None = None
    transaction_id: int | None = None
    request: RicRequestId | None = None
    function_id: int | None = None

    def ies(self) -> Iterator[tuple[str, Any]]:
        if self.transaction_id is not None:
            yield "TransactionID", self.transaction_id
        if self.request is not None:
            yield "RICrequestID", self.request.to_asn()
        if self.function_id is not None:
            yield "RANfunctionID", self.function_id
        if self.cause is not None:
            yield "Cause", self.cause.to_asn()

    @classmethod
    def from_ies(cls, ies: Mapping[str, Any]) -> ErrorIndication:
        rid = ies.get("RICrequestID")
        cause = ies.get("Cause")
        return cls(None if cause is None else Cause.of(cause), ies.get("TransactionID"),
                   None if rid is None else RicRequestId.of(rid), ies.get("RANfunctionID"))


@dataclass(frozen=True)
class ResetRequest(_TransactionCause):
    NAME: ClassVar[str] = "ResetRequest"
    KIND: ClassVar[Kind] = "initiatingMessage"


@dataclass(frozen=True)
class ResetResponse(Pdu):
    NAME: ClassVar[str] = "ResetResponse"
    KIND: ClassVar[Kind] = "successfulOutcome"
    transaction_id: int

    def ies(self) -> Iterator[tuple[str, Any]]:
        yield "TransactionID", self.transaction_id

    @classmethod
    def from_ies(cls, ies: Mapping[str, Any]) -> ResetResponse:
        return cls(ies["TransactionID"])


@dataclass(frozen=True)
class E2NodeConfigurationUpdate(Pdu):
    NAME: ClassVar[str] = "E2nodeConfigurationUpdate"
    KIND: ClassVar[Kind] = "initiatingMessage"
    transaction_id: int
    node: GlobalGnb | None = None
    additions: tuple[Component, ...] = ()

    def ies(self) -> Iterator[tuple[str, Any]]:
        yield "TransactionID", self.transaction_id
        if self.node is not None:
            yield "GlobalE2node-ID", self.node.to_asn()
        if self.additions:
            yield "E2nodeComponentConfigAddition-List", _items(
                "E2nodeComponentConfigAddition-Item", [c.to_asn() for c in self.additions])

    @classmethod
    def from_ies(cls, ies: Mapping[str, Any]) -> E2NodeConfigurationUpdate:
        node = ies.get("GlobalE2node-ID")
        return cls(ies["TransactionID"], None if node is None else GlobalGnb.of(node),
                   tuple(Component.of(v) for v in _unwrap(ies.get("E2nodeComponentConfigAddition-List"))))


@dataclass(frozen=True)
class E2NodeConfigurationUpdateAcknowledge(Pdu):
    NAME: ClassVar[str] = "E2nodeConfigurationUpdateAcknowledge"
    KIND: ClassVar[Kind] = "successfulOutcome"
    transaction_id: int
    additions: tuple[Component, ...] = ()

    def ies(self) -> Iterator[tuple[str, Any]]:
        yield "TransactionID", self.transaction_id
        if self.additions:
            yield "E2nodeComponentConfigAdditionAck-List", _items(
                "E2nodeComponentConfigAdditionAck-Item", [c.ack_asn() for c in self.additions])

    @classmethod
    def from_ies(cls, ies: Mapping[str, Any]) -> E2NodeConfigurationUpdateAcknowledge:
        return cls(ies["TransactionID"], tuple(
            Component.of_ack(v) for v in _unwrap(ies.get("E2nodeComponentConfigAdditionAck-List"))))


@dataclass(frozen=True)
class E2NodeConfigurationUpdateFailure(_TransactionCause):
    NAME: ClassVar[str] = "E2nodeConfigurationUpdateFailure"
    KIND: ClassVar[Kind] = "unsuccessfulOutcome"


@dataclass(frozen=True)
class Unsupported(Pdu):
    """A well-formed E2AP PDU of a procedure this codec does not type (answered with an Error Indication)."""

    NAME: ClassVar[str] = ""
    KIND: ClassVar[Kind] = "initiatingMessage"
    message: str
    kind: str
    procedure_code: int
    fields: Mapping[str, Any] = field(default_factory=dict)


MESSAGES: tuple[type[Pdu], ...] = (
    E2SetupRequest, E2SetupResponse, E2SetupFailure,
    RicSubscriptionRequest, RicSubscriptionResponse, RicSubscriptionFailure,
    RicSubscriptionDeleteRequest, RicSubscriptionDeleteResponse, RicSubscriptionDeleteFailure,
    RicIndication, RicControlRequest, RicControlAcknowledge, RicControlFailure,
    ErrorIndication, ResetRequest, ResetResponse,
    E2NodeConfigurationUpdate, E2NodeConfigurationUpdateAcknowledge, E2NodeConfigurationUpdateFailure,
)
_BY_NAME: dict[str, type[Pdu]] = {m.NAME: m for m in MESSAGES}


# ---------------------------------------------------------------------------------------------- tables


@cache
def _procedures() -> dict[str, tuple[int, str]]:
    """Message type name -> (procedure code, procedure criticality), from E2AP-ELEMENTARY-PROCEDURES."""
    out: dict[str, tuple[int, str]] = {}
    for proc in schema().e2ap._cont["initiatingMessage"]._cont["procedureCode"]._const_tab._val.root:
        for kind in ("InitiatingMessage", "SuccessfulOutcome", "UnsuccessfulOutcome"):
            if kind in proc:
                out[proc[kind]._tr._name] = (proc["procedureCode"], proc["criticality"])
    return out


@cache
def _ie_table(message: str) -> dict[str, tuple[int, str]]:
    """IE type name -> (IE id, criticality) of a message's protocol IEs."""
    contents = schema().e2ap_contents
    base = message.replace("-", "_")
    for name in (f"{base}_IEs", f"{base}IEs"):
        table = getattr(contents, name, None)
        if table is not None:
            return {_type_name(ie["Value"]): (ie["id"], ie["criticality"]) for ie in table._val.root}
    raise CodecError(f"no IE table for {message}")


@cache
def _single_ie(item: str) -> tuple[int, str]:
    """(IE id, criticality) of a single-container item such as RANfunction-Item."""
    contents = schema().e2ap_contents
    base = item.replace("-", "_")
    for name in (f"{base}IEs", f"{base}_IEs", f"{base.replace('_Item', '_ItemIEs')}"):
        table = getattr(contents, name, None)
        if table is not None:
            for ie in table._val.root:
                if _type_name(ie["Value"]) == item:
                    return ie["id"], ie["criticality"]
    raise CodecError(f"no single-container IE for {item}")


def _type_name(obj: Any) -> str:
    return str(obj._tr._name if obj._tr is not None else obj._name)


# ---------------------------------------------------------------------------------------------- codec


def to_asn(pdu: Pdu) -> tuple[str, dict[str, Any]]:
    code, crit = _procedures()[pdu.NAME]
    table = _ie_table(pdu.NAME)
    ies = [{"id": table[name][0], "criticality": table[name][1], "value": (name, value)} for name, value in pdu.ies()]
    return (pdu.KIND, {"procedureCode": code, "criticality": crit, "value": (pdu.NAME, {"protocolIEs": ies})})


def encode(pdu: Pdu) -> bytes:
    """APER bytes of ``pdu``; :class:`CodecError` for a value outside the E2AP constraints."""
    return aper_encode(schema().e2ap, to_asn(pdu))


def decode(data: bytes) -> Pdu:
    """The typed message in ``data``; :class:`CodecError` for anything that is not a complete E2AP PDU."""
    kind, body = aper_decode(schema().e2ap, data, "E2AP PDU", whole=True)
    return from_asn(kind, body)


@structural("E2AP PDU")
def from_asn(kind: str, body: Mapping[str, Any]) -> Pdu:
    name, value = body["value"]
    ies = {ie["value"][0]: ie["value"][1] for ie in value.get("protocolIEs", [])}
    cls = _BY_NAME.get(name)
    if cls is None or kind != cls.KIND:
        return Unsupported(name, kind, body["procedureCode"], ies)
    try:
        return cls.from_ies(ies)
    except KeyError as exc:
        raise CodecError(f"{name} lacks the mandatory IE {exc}") from exc

