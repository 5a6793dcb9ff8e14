"""Canonical string keys for E2 identities, and RAN function ids of the service models nextric serves."""

from __future__ import annotations

from nextric.e2.v1 import common_pb2, e2ap_pb2
from nextric.errors import ValidationError

# RAN function ids advertised by nextric E2 nodes (node-local numbers, as in E2AP RANfunctionID).
RAN_FUNCTION_KPM = 2
RAN_FUNCTION_RC = 3
RAN_FUNCTION_BEAM = 4
RAN_FUNCTION_PILOT = 5

# Report style -> the RAN function that serves it.
REPORT_FUNCTION: dict[int, int] = {
    e2ap_pb2.REPORT_STYLE_KPM: RAN_FUNCTION_KPM,
    e2ap_pb2.REPORT_STYLE_BEAM: RAN_FUNCTION_BEAM,
    e2ap_pb2.REPORT_STYLE_PILOT: RAN_FUNCTION_PILOT,
}


def plmn_key(plmn: common_pb2.PlmnIdentity) -> str:
    return f"{plmn.mcc}{plmn.mnc}"


def node_id_for(gnb: common_pb2.GlobalGnbId) -> str:
    """``gnb-<mcc><mnc>-<gnb id in hex>``, e.g. ``gnb-00101-00000001``."""
    return f"gnb-{plmn_key(gnb.plmn)}-{gnb.gnb_id:08x}"


def cell_key(cgi: common_pb2.NrCgi) -> str:
    """``<mcc><mnc>-<36-bit NR cell identity in hex>``, e.g. ``00101-000000010``."""
    return f"{plmn_key(cgi.plmn)}-{cgi.nr_cell_identity:09x}"


def snssai_key(snssai: common_pb2.Snssai) -> str:
    """``<sst>`` or ``<sst>-<sd>``, e.g. ``1-000001``."""
    return f"{snssai.sst}-{snssai.sd.lower()}" if snssai.sd else str(snssai.sst)


def make_plmn(mcc: str, mnc: str) -> common_pb2.PlmnIdentity:
    if not (len(mcc) == 3 and mcc.isdigit()):
        raise ValidationError(f"MCC must be 3 decimal digits, got {mcc!r}")
    if not (len(mnc) in (2, 3) and mnc.isdigit()):
        raise ValidationError(f"MNC must be 2 or 3 decimal digits, got {mnc!r}")
    return common_pb2.PlmnIdentity(mcc=mcc, mnc=mnc)


def make_snssai(sst: int, sd: str = "") -> common_pb2.Snssai:
    if not 0 <= sst <= 255:
        raise ValidationError(f"SST must be in 0..255, got {sst}")
    if sd and (len(sd) != 6 or any(c not in "0123456789abcdefABCDEF" for c in sd)):
        raise ValidationError(f"SD must be 6 hex digits, got {sd!r}")
    return common_pb2.Snssai(sst=sst, sd=sd.lower())
