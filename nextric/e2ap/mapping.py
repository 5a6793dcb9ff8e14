"""Mapping between E2AP/E2SM objects and the internal ``nextric.e2.v1`` contract.

- KPM: one internal KPM indication of one cell <-> E2SM-KPM header + indication message format 1 (every
  (row, measurement) of the internal message is one measurement of the format-1 message, labelled with the row's
  S-NSSAI, or unlabelled for the cell row; NaN <-> noValue; values cross bit-exact as base-2 REALs).
- Time: the header's collection start (NTP) = ``time_origin_unix_ms + sim_time_ms - granularity``; the internal
  ``sim_time_ms`` is the end of the collection period. The emulated gNB's clock is its simulated clock started at
  ``time_origin_unix_ms`` (default the Unix epoch), so the bridge recovers the simulated time exactly.
- Control: internal ``SliceQuotaControl`` of a node <-> E2SM-RC style 2 action 6 (RRMPolicyRatio list).
- Causes: internal ``Cause`` (group enum + E2AP value name) <-> E2AP ``Cause``.
"""

from __future__ import annotations

from collections.abc import Sequence

from nextric.e2 import ids
from nextric.e2.errors import invalid
from nextric.e2.v1 import common_pb2, e2ap_pb2
from nextric.e2ap import kpm, rc
from nextric.e2ap.errors import CodecError
from nextric.e2ap.pdu import Cause
from nextric.e2sm.kpm.v1 import kpm_pb2
from nextric.e2sm.rc.v1 import rc_pb2

_GROUPS = {
    "ricRequest": e2ap_pb2.CAUSE_GROUP_RIC_REQUEST, "ricService": e2ap_pb2.CAUSE_GROUP_RIC_SERVICE,
    "e2Node": e2ap_pb2.CAUSE_GROUP_E2_NODE, "protocol": e2ap_pb2.CAUSE_GROUP_PROTOCOL,
    "misc": e2ap_pb2.CAUSE_GROUP_MISC, "transport": e2ap_pb2.CAUSE_GROUP_MISC,
}
_GROUP_NAMES: dict[int, str] = {int(v): k for k, v in _GROUPS.items() if k != "transport"}
#: internal value names that E2AP spells differently
_VALUE_ALIASES = {"event-trigger-not-supported": "eventTriggerNotSupported"}


# ---------------------------------------------------------------------------------------------- identities


def plmn_to_bytes(plmn: common_pb2.PlmnIdentity) -> bytes:
    """TBCD PLMN identity (3GPP TS 24.008): MCC digit 2|1, MNC digit 3 (F for 2-digit MNCs)|MCC digit 3, MNC 2|1."""
    mcc, mnc = plmn.mcc, plmn.mnc
    d3 = int(mnc[2]) if len(mnc) == 3 else 0xF
    return bytes([(int(mcc[1]) << 4) | int(mcc[0]), (d3 << 4) | int(mcc[2]), (int(mnc[1]) << 4) | int(mnc[0])])


def plmn_from_bytes(data: bytes) -> common_pb2.PlmnIdentity:
    if len(data) != 3:
        raise CodecError(f"PLMN identity must be 3 octets, got {len(data)}")
    nibbles = [data[0] & 0xF, data[0] >> 4, data[1] & 0xF, data[2] & 0xF, data[2] >> 4, data[1] >> 4]
    if any(n > 9 for n in nibbles[:5]) or not (nibbles[5] <= 9 or nibbles[5] == 0xF):
        raise CodecError(f"PLMN identity {data.hex()} is not TBCD")
    mnc = f"{nibbles[3]}{nibbles[4]}" + ("" if nibbles[5] == 0xF else str(nibbles[5]))
    return ids.make_plmn(f"{nibbles[0]}{nibbles[1]}{nibbles[2]}", mnc)


def snssai_to_e2sm(s: common_pb2.Snssai) -> kpm.Snssai:
    return kpm.Snssai(s.sst, bytes.fromhex(s.sd) if s.sd else None)


def snssai_from_e2sm(s: kpm.Snssai) -> common_pb2.Snssai:
    return ids.make_snssai(s.sst, s.sd.hex() if s.sd is not None else "")


def cgi_to_e2sm(cgi: common_pb2.NrCgi) -> kpm.NrCgi:
    return kpm.NrCgi(plmn_to_bytes(cgi.plmn), cgi.nr_cell_identity)


def cgi_from_e2sm(cgi: kpm.NrCgi) -> common_pb2.NrCgi:
    return common_pb2.NrCgi(plmn=plmn_from_bytes(cgi.plmn), nr_cell_identity=cgi.cell_identity)


def cause_to_e2ap(group: int, value: str) -> Cause:
    name = _GROUP_NAMES.get(group, "misc")
    return Cause(name, _VALUE_ALIASES.get(value, value))


def cause_from_e2ap(cause: Cause) -> tuple[int, str]:
    value = next((k for k, v in _VALUE_ALIASES.items() if v == cause.value), cause.value)
    return _GROUPS.get(cause.group, e2ap_pb2.CAUSE_GROUP_MISC), value


# ---------------------------------------------------------------------------------------------- KPM


def kpm_to_e2sm(message: kpm_pb2.KpmIndicationMessage) -> kpm.Format1:
    """One internal KPM message (any number of rows) as a format-1 message with one record."""
    measurements: list[kpm.Measurement] = []
    values: list[kpm.Value] = []
    for row in message.sets:
        label = kpm.Label(snssai_to_e2sm(row.snssai)) if row.HasField("snssai") else kpm.Label()
        for name, value in zip(message.measurement_names, row.values, strict=False):
            measurements.append(kpm.Measurement(name, label))
            values.append(value)
    return kpm.Format1(tuple(measurements), (tuple(values),), message.granularity_period_ms or None)


def kpm_from_e2sm(message: kpm.Format1, cgi: common_pb2.NrCgi, granularity_ms: int) -> kpm_pb2.KpmIndicationMessage:
    """A format-1 message of one cell as an internal KPM message (rows by label, names in first-seen order)."""
    names = list(dict.fromkeys(m.name for m in message.measurements))
    nan = float("nan")
    rows: dict[kpm.Label, dict[str, float]] = {
        label: {n: (nan if v is None else float(v)) for n, v in vals.items()}
        for label, vals in kpm.format1_rows(message)}
    sets = []
    for label, vals in rows.items():
        row = kpm_pb2.MeasurementSet(cgi=cgi, values=[vals.get(n, nan) for n in names])
        if label.snssai is not None:
            row.snssai.CopyFrom(snssai_from_e2sm(label.snssai))
        sets.append(row)
    return kpm_pb2.KpmIndicationMessage(granularity_period_ms=message.granularity_ms or granularity_ms,
                                        measurement_names=names, sets=sets)


def header_for(sim_time_ms: int, granularity_ms: int, time_origin_unix_ms: int = 0,
               sender: str | None = None) -> kpm.Header:
    """KPM header (v3 layout) of a report that ends at ``sim_time_ms``."""
    start = time_origin_unix_ms + sim_time_ms - granularity_ms
    return kpm.Header(kpm.ntp_from_unix_ms(start), "v3", sender_name=sender)


def sim_time_of(header: kpm.Header, granularity_ms: int, time_origin_unix_ms: int = 0) -> int:
    """The internal ``sim_time_ms`` (end of the collection period) of a KPM header."""
    return kpm.unix_ms_from_ntp(header.collect_start_ntp) + granularity_ms - time_origin_unix_ms


# ---------------------------------------------------------------------------------------------- RC


def slice_quota_to_e2sm(control: rc_pb2.SliceQuotaControl) -> tuple[rc.PolicyRatio, ...]:
    """The RRM policies of a slice quota for one E2 node. E2SM-RC style 2 action 6 names no cell: a control for
    several cells of one node must give them all the same policies (refused otherwise)."""
    if not control.cells:
        raise invalid("control-message-invalid", "slice_quota names no cell")
    policies = [_policies(c.policies) for c in control.cells]
    if any(p != policies[0] for p in policies[1:]):
        raise invalid("control-message-invalid",
                      "E2SM-RC slice-level PRB quota applies to the whole node: every cell needs the same policies")
    return policies[0]


def _policies(policies: Sequence[rc_pb2.RrmPolicyRatio]) -> tuple[rc.PolicyRatio, ...]:
    return tuple(rc.PolicyRatio(tuple((plmn_to_bytes(m.plmn), snssai_to_e2sm(m.snssai)) for m in p.members),
                                p.min_prb_policy_ratio, p.max_prb_policy_ratio, p.dedicated_prb_policy_ratio)
                 for p in policies)


def slice_quota_from_e2sm(policies: Sequence[rc.PolicyRatio],
                          cells: Sequence[common_pb2.NrCgi]) -> rc_pb2.SliceQuotaControl:
    """The internal slice quota of a node: the same policies for each of its cells."""
    pols = [rc_pb2.RrmPolicyRatio(
        members=[rc_pb2.RrmPolicyMember(plmn=plmn_from_bytes(plmn), snssai=snssai_from_e2sm(s))
                 for plmn, s in p.members],
        min_prb_policy_ratio=p.min_ratio, max_prb_policy_ratio=p.max_ratio,
        dedicated_prb_policy_ratio=p.dedicated_ratio)
        for p in policies]
    return rc_pb2.SliceQuotaControl(cells=[rc_pb2.CellRrmPolicy(cgi=c, policies=pols) for c in cells])
