"""Pure checks of E2 requests against a node's advertised configuration.

Every check raises :class:`~nextric.e2.errors.E2Failure` with the E2AP cause an E2 node would send, so
a misbehaving xApp gets a precise answer. No I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nextric.e2 import ids
from nextric.e2.errors import exhausted, invalid, not_found
from nextric.e2.v1 import common_pb2, e2ap_pb2
from nextric.e2sm.rc.v1 import rc_pb2

MAX_POLICIES_PER_CELL = 64
MAX_MEMBERS_PER_POLICY = 64


def check_node_id(node_id: str, known: Iterable[str]) -> None:
    if not node_id:
        raise invalid("control-message-invalid", "node_id is empty")
    if node_id not in set(known):
        raise not_found("e2-node-unknown", f"no E2 node {node_id!r} is served here")


@dataclass(frozen=True)
class NodeView:
    """A node's E2 Setup information indexed for validation (built once, reused for every request)."""

    info: e2ap_pb2.E2NodeInfo
    cell_keys: frozenset[str]
    functions: dict[int, e2ap_pb2.RanFunction]

    @classmethod
    def of(cls, info: e2ap_pb2.E2NodeInfo) -> NodeView:
        return cls(
            info=info,
            cell_keys=frozenset(ids.cell_key(cell.cgi) for cell in info.cells),
            functions={fn.ran_function_id: fn for fn in info.ran_functions},
        )

    def ran_function(self, ran_function_id: int) -> e2ap_pb2.RanFunction:
        fn = self.functions.get(ran_function_id)
        if fn is None:
            raise invalid(
                "ran-function-id-invalid",
                f"RAN function {ran_function_id} not offered (offered: {sorted(self.functions)})",
            )
        return fn

    def check_cell(self, cgi: common_pb2.NrCgi) -> str:
        key = ids.cell_key(cgi)
        if key not in self.cell_keys:
            raise not_found("cell-unknown", f"cell {key} does not belong to node {self.info.node_id}")
        return key


def check_subscription(
    node: NodeView, request: e2ap_pb2.RicSubscriptionRequest, min_period_ms: int, max_period_ms: int
) -> None:
    """Validate a RIC Subscription Request against the node (style, function, period, cells)."""
    if not request.HasField("ric_request_id"):
        raise invalid("unspecified", "ric_request_id is required")
    style = request.report_style
    if style not in ids.REPORT_FUNCTION:
        raise invalid("action-not-supported", f"unknown report style {style}")
    fn = node.ran_function(request.ran_function_id)
    if style not in fn.report_styles:
        name = e2ap_pb2.ReportStyle.Name(style)
        raise invalid("action-not-supported", f"RAN function {fn.ran_function_id} ({fn.short_name}) has no {name}")
    if not min_period_ms <= request.report_period_ms <= max_period_ms:
        raise invalid(
            "event-trigger-not-supported",
            f"report_period_ms {request.report_period_ms} outside [{min_period_ms}, {max_period_ms}]",
        )
    for cgi in request.cells:
        node.check_cell(cgi)


def _check_snssai(snssai: common_pb2.Snssai) -> str:
    if snssai.sst > 255:
        raise invalid("control-message-invalid", f"SST {snssai.sst} outside 0..255")
    if snssai.sd and (len(snssai.sd) != 6 or any(c not in "0123456789abcdefABCDEF" for c in snssai.sd)):
        raise invalid("control-message-invalid", f"SD {snssai.sd!r} is not 6 hex digits")
    return ids.snssai_key(snssai)


def check_rrm_policies(cell: str, policies: Iterable[rc_pb2.RrmPolicyRatio]) -> None:
    """TS 28.541 RRMPolicyRatio rules for one cell: 0 <= dedicated <= min <= max <= 100,
    sum(min) <= 100, sum(dedicated) <= 100, a member in at most one policy."""
    sum_min = 0
    sum_ded = 0
    seen: set[str] = set()
    for i, pol in enumerate(policies):
        if i >= MAX_POLICIES_PER_CELL:
            raise exhausted("excessive-actions", f"cell {cell}: more than {MAX_POLICIES_PER_CELL} policies")
        where = f"cell {cell} policy {i}"
        if not pol.members:
            raise invalid("control-message-invalid", f"{where}: empty member list")
        if len(pol.members) > MAX_MEMBERS_PER_POLICY:
            raise exhausted("excessive-actions", f"{where}: more than {MAX_MEMBERS_PER_POLICY} members")
        ded, lo, hi = pol.dedicated_prb_policy_ratio, pol.min_prb_policy_ratio, pol.max_prb_policy_ratio
        # uint32 on the wire: never NaN nor negative (a negative varint arrives as a huge value), so the upper
        # end is the whole range check; each field is named, max first (the message tests match on it)
        for field, label, value in (("max_prb_policy_ratio", "max", hi), ("min_prb_policy_ratio", "min", lo),
                                    ("dedicated_prb_policy_ratio", "dedicated", ded)):
            if value > 100:
                raise invalid("control-message-invalid", f"{where}: {field}: {label} ratio {value} > 100 (percent)")
        if not ded <= lo <= hi:
            raise invalid(
                "control-message-invalid",
                f"{where}: need dedicated <= min <= max (TS 28.541: dedicated_prb_policy_ratio <= "
                f"min_prb_policy_ratio <= max_prb_policy_ratio), got {ded} / {lo} / {hi}",
            )
        for member in pol.members:
            key = f"{ids.plmn_key(member.plmn)}:{_check_snssai(member.snssai)}"
            if key in seen:
                raise invalid("control-message-invalid", f"{where}: member {key} appears in two policies")
            seen.add(key)
        sum_min += lo
        sum_ded += ded
    if sum_min > 100:
        raise invalid("control-message-invalid", f"cell {cell}: sum of min ratios {sum_min} > 100 (TS 28.541)")
    if sum_ded > 100:
        raise invalid("control-message-invalid", f"cell {cell}: sum of dedicated ratios {sum_ded} > 100 (TS 28.541)")


def check_control(node: NodeView, request: e2ap_pb2.RicControlRequest) -> None:
    """Validate a RIC Control Request: RC function offered, control present, cells known, values legal."""
    if not request.HasField("ric_request_id"):
        raise invalid("unspecified", "ric_request_id is required")
    fn = node.ran_function(request.ran_function_id)
    kind = request.WhichOneof("control")
    if kind is None:
        raise invalid("control-message-invalid", "no control message set")
    style = {
        "slice_quota": e2ap_pb2.CONTROL_STYLE_SLICE_QUOTA,
        "beam_switch": e2ap_pb2.CONTROL_STYLE_BEAM_SWITCH,
        "estimator_mode": e2ap_pb2.CONTROL_STYLE_ESTIMATOR_MODE,
        "beam_measure": e2ap_pb2.CONTROL_STYLE_BEAM_MEASURE,
    }[kind]
    if style not in fn.control_styles:
        raise invalid("action-not-supported", f"RAN function {fn.ran_function_id} does not accept {kind}")
    if kind == "slice_quota":
        if not request.slice_quota.cells:
            raise invalid("control-message-invalid", "slice_quota names no cell")
        done: set[str] = set()
        for cell in request.slice_quota.cells:
            key = node.check_cell(cell.cgi)
            if key in done:
                raise invalid("control-message-invalid", f"cell {key} appears twice")
            done.add(key)
            check_rrm_policies(key, cell.policies)
    elif kind == "beam_switch":
        if not request.beam_switch.switches:
            raise invalid("control-message-invalid", "beam_switch names no UE")
        for sw in request.beam_switch.switches:
            node.check_cell(sw.cgi)
    elif kind == "beam_measure":
        if not request.beam_measure.requests:
            raise invalid("control-message-invalid", "beam_measure names no UE")
        for i, rq in enumerate(request.beam_measure.requests):
            node.check_cell(rq.cgi)
            if not rq.beam_ids:
                raise invalid("control-message-invalid", f"beam_measure.requests[{i}] names no beam")
            if len(set(rq.beam_ids)) != len(rq.beam_ids):
                raise invalid("control-message-invalid", f"beam_measure.requests[{i}] repeats a beam")
    else:
        if not request.estimator_mode.assignments:
            raise invalid("control-message-invalid", "estimator_mode names no cell")
        for asg in request.estimator_mode.assignments:
            node.check_cell(asg.cgi)
            if asg.mode not in (rc_pb2.ESTIMATOR_MODE_LS, rc_pb2.ESTIMATOR_MODE_LMMSE, rc_pb2.ESTIMATOR_MODE_NEURAL):
                raise invalid("control-message-invalid", f"unknown estimator mode {asg.mode}")
