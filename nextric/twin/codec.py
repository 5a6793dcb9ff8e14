"""``nextric.twin.v1`` messages <-> numpy and the control vocabulary (tensors, closed-loop policies, the laws, the
controllers' state). Both ends use it: the twin service decodes what the rApp encodes."""

from __future__ import annotations

import numpy as np

from nextric.arrays import FloatArray
from nextric.control.batch import ControllerState, LawSpec, PolicyBatch
from nextric.control.slices import AllocatorParams
from nextric.control.transport import TransportParams
from nextric.errors import ValidationError
from nextric.twin.v1 import twin_pb2

MAX_TENSOR_VALUES = 4_000_000  #: largest tensor accepted (float32 values)


def to_tensor(array: np.ndarray) -> twin_pb2.Tensor:
    return twin_pb2.Tensor(shape=list(array.shape), values=np.asarray(array, dtype=np.float32).ravel().tolist())


def from_tensor(tensor: twin_pb2.Tensor, name: str, ndim: int) -> FloatArray:
    """Dense row-major float32 tensor -> float64 array; a clear error on a bad shape or size."""
    shape = tuple(int(d) for d in tensor.shape)
    if len(shape) != ndim:
        raise ValidationError(f"{name}: expected {ndim} dimensions, got shape {shape}")
    size = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if size > MAX_TENSOR_VALUES:
        raise ValidationError(f"{name}: {size} values, at most {MAX_TENSOR_VALUES}")
    if size != len(tensor.values):
        raise ValidationError(f"{name}: shape {shape} needs {size} values, got {len(tensor.values)}")
    return np.asarray(tensor.values, dtype=np.float64).reshape(shape)


_POLICY_FIELDS = (("prb_lower", 3), ("prb_upper", 3), ("prb_max", 3), ("prb_target", 3), ("sla_loss", 3),
                  ("sla_p99_ms", 3), ("tn_lower", 3), ("tn_upper", 3), ("tn_target", 3))


def policies_to_proto(batch: PolicyBatch) -> twin_pb2.Policies:
    msg = twin_pb2.Policies(slice_law=[bool(x) for x in batch.slice_law],
                            transport_law=[bool(x) for x in batch.transport_law])
    for name, _ in _POLICY_FIELDS:
        getattr(msg, name).CopyFrom(to_tensor(getattr(batch, name)))
    return msg


def policies_from_proto(msg: twin_pb2.Policies) -> PolicyBatch:
    arrays = {name: from_tensor(getattr(msg, name), f"policies.{name}", nd) for name, nd in _POLICY_FIELDS}
    return PolicyBatch(**arrays, slice_law=np.asarray(list(msg.slice_law), dtype=bool),
                       transport_law=np.asarray(list(msg.transport_law), dtype=bool))


def state_to_proto(st: ControllerState) -> twin_pb2.ControllerState:
    return twin_pb2.ControllerState(ratio_pct=to_tensor(st.ratio_pct), previous_min=to_tensor(st.previous_min),
                                    tn_share=to_tensor(st.tn_share))


def state_from_proto(msg: twin_pb2.ControllerState) -> ControllerState:
    return ControllerState(from_tensor(msg.ratio_pct, "initial.ratio_pct", 3),
                           from_tensor(msg.previous_min, "initial.previous_min", 2),
                           from_tensor(msg.tn_share, "initial.tn_share", 2))


def laws_to_proto(laws: LawSpec, fast_step_ms: int) -> twin_pb2.Laws:
    a, t = laws.allocator, laws.transport
    return twin_pb2.Laws(
        slice=twin_pb2.SliceLaw(
            margin=a.margin, latency_margin=a.latency_margin, gain=a.gain, floor_pct=a.floor_pct,
            latency_floor_pct=a.latency_floor_pct, burst_reserve=a.burst_reserve,
            burst_reserve_cap_pct=a.burst_reserve_cap_pct, max_step_pct=a.max_step_pct,
            max_release_pct=a.max_step_pct if a.max_release_pct is None else a.max_release_pct,
            plan_weight=a.plan_weight, dedicate_latency=a.dedicate_latency, priority=list(laws.priority),
            period_ms=laws.slice_period_steps * fast_step_ms),
        transport=twin_pb2.TransportLaw(
            margin=[t.margin.get(k, t.default_margin) for k in laws.keys], priority=list(t.priority), floor=t.floor,
            max_step=t.max_step, plan_weight=t.plan_weight, period_ms=laws.transport_period_steps * fast_step_ms))


def laws_from_proto(msg: twin_pb2.Laws, keys: list[str], fast_step_ms: int) -> LawSpec:
    """Decode and check the laws against the description's slices and sub-step."""
    s, t = msg.slice, msg.transport
    n = len(keys)
    if len(s.priority) != n or len(t.margin) != n:
        raise ValidationError(f"laws: one priority and one transport margin per slice ({n}) expected")
    if set(t.priority) - set(keys):
        raise ValidationError(f"laws.transport.priority names unknown slices {sorted(set(t.priority) - set(keys))}")
    for name, period in (("slice", s.period_ms), ("transport", t.period_ms)):
        if period == 0 or period % fast_step_ms:
            raise ValidationError(f"laws.{name}.period_ms must be a positive multiple of {fast_step_ms} ms")
    checks = ((s.margin >= 1 and s.latency_margin >= 1, "slice margins must be >= 1"),
              (s.gain >= 0 and 0 <= s.plan_weight <= 1, "slice gain >= 0 and plan_weight in [0, 1]"),
              (0 <= s.floor_pct <= 100 and 0 <= s.latency_floor_pct <= 100, "slice floors in 0..100"),
              (1 <= s.max_step_pct <= 100 and 1 <= s.max_release_pct <= 100, "slice steps in 1..100"),
              (s.burst_reserve >= 0 and 0 <= s.burst_reserve_cap_pct <= 100, "burst reserve >= 0, cap 0..100"),
              (all(m >= 1 for m in t.margin) and 0 <= t.floor <= 0.3, "transport margins >= 1, floor <= 0.3"),
              (0 < t.max_step <= 1 and 0 <= t.plan_weight <= 1, "transport max_step in (0, 1], weight in [0, 1]"))
    for ok, what in checks:
        if not ok or not all(np.isfinite([s.margin, s.latency_margin, s.gain, s.burst_reserve, s.plan_weight,
                                          t.floor, t.max_step, t.plan_weight, *t.margin, *s.priority])):
            raise ValidationError(f"laws: {what} (finite values)")
    alloc = AllocatorParams(s.margin, s.latency_margin, s.gain, s.floor_pct, s.latency_floor_pct, s.burst_reserve,
                            s.burst_reserve_cap_pct, s.max_step_pct, s.max_release_pct, s.plan_weight,
                            s.dedicate_latency)
    tp = TransportParams(dict(zip(keys, t.margin, strict=True)), list(t.priority) or list(keys),
                         floor=t.floor, max_step=t.max_step, plan_weight=t.plan_weight)
    return LawSpec(alloc, tp, tuple(keys), tuple(float(x) for x in s.priority), s.period_ms // fast_step_ms,
                   t.period_ms // fast_step_ms)
