"""Builders for E2 Setup information: RAN function definitions of the service models nextric speaks,
and node/cell descriptions."""

from __future__ import annotations

from collections.abc import Iterable

from nextric.e2 import ids
from nextric.e2.v1 import common_pb2, e2ap_pb2

# Service-model OIDs (O-RAN assigned arcs for KPM and RC; nextric's own arc for BEAM and PILOT).
OID_KPM = "1.3.6.1.4.1.53148.1.2.2.2"
OID_RC = "1.3.6.1.4.1.53148.1.1.2.3"
OID_BEAM = "1.3.6.1.4.1.99999.1.1"
OID_PILOT = "1.3.6.1.4.1.99999.1.2"


def standard_ran_functions() -> list[e2ap_pb2.RanFunction]:
    """KPM (reports), RC (slice quota, beam switch, estimator mode, beam measurement), BEAM and PILOT (reports)."""
    return [
        e2ap_pb2.RanFunction(
            ran_function_id=ids.RAN_FUNCTION_KPM,
            short_name="ORAN-E2SM-KPM",
            oid=OID_KPM,
            revision=3,
            report_styles=[e2ap_pb2.REPORT_STYLE_KPM],
        ),
        e2ap_pb2.RanFunction(
            ran_function_id=ids.RAN_FUNCTION_RC,
            short_name="ORAN-E2SM-RC",
            oid=OID_RC,
            revision=1,
            control_styles=[
                e2ap_pb2.CONTROL_STYLE_SLICE_QUOTA,
                e2ap_pb2.CONTROL_STYLE_BEAM_SWITCH,
                e2ap_pb2.CONTROL_STYLE_ESTIMATOR_MODE,
                e2ap_pb2.CONTROL_STYLE_BEAM_MEASURE,
            ],
        ),
        e2ap_pb2.RanFunction(
            ran_function_id=ids.RAN_FUNCTION_BEAM,
            short_name="NEXTRIC-E2SM-BEAM",
            oid=OID_BEAM,
            revision=1,
            report_styles=[e2ap_pb2.REPORT_STYLE_BEAM],
        ),
        e2ap_pb2.RanFunction(
            ran_function_id=ids.RAN_FUNCTION_PILOT,
            short_name="NEXTRIC-E2SM-PILOT",
            oid=OID_PILOT,
            revision=1,
            report_styles=[e2ap_pb2.REPORT_STYLE_PILOT],
        ),
    ]


def cell_identity(gnb_id: int, cell_index: int, gnb_id_bits: int = 28) -> int:
    """36-bit NR cell identity: gNB id in the leading ``gnb_id_bits`` bits, then the local cell id."""
    local_bits = 36 - gnb_id_bits
    if not 0 <= cell_index < (1 << local_bits):
        raise ValueError(f"cell index {cell_index} does not fit in {local_bits} bits")
    return (gnb_id << local_bits) | cell_index


def make_node_info(
    plmn: common_pb2.PlmnIdentity,
    gnb_id: int,
    cells: Iterable[e2ap_pb2.CellInfo],
    gnb_id_bits: int = 28,
    ran_functions: Iterable[e2ap_pb2.RanFunction] | None = None,
) -> e2ap_pb2.E2NodeInfo:
    gnb = common_pb2.GlobalGnbId(plmn=plmn, gnb_id=gnb_id, gnb_id_bits=gnb_id_bits)
    return e2ap_pb2.E2NodeInfo(
        global_gnb_id=gnb,
        node_id=ids.node_id_for(gnb),
        cells=list(cells),
        ran_functions=list(ran_functions) if ran_functions is not None else standard_ran_functions(),
    )
