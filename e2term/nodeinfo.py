"""What the bridge tells the xApps about a gNB: its E2 Setup (global id, RAN functions) plus the cells' radio
details from the bridge's cell inventory."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from e2term.settings import CellConfig
from nextric.e2 import ids
from nextric.e2.v1 import common_pb2, e2ap_pb2
from nextric.e2ap import kpm, rc
from nextric.e2ap.errors import CodecError
from nextric.e2ap.mapping import plmn_from_bytes
from nextric.e2ap.pdu import E2SetupRequest, RanFunctionItem
from nextric.errors import ValidationError

log = logging.getLogger("e2term")
KPM_NAME = "ORAN-E2SM-KPM"
RC_NAME = "ORAN-E2SM-RC"


def parse_cell_key(key: str) -> common_pb2.NrCgi:
    """``<mcc><mnc>-<NR cell identity hex>`` -> NrCgi (a 5-digit PLMN has a 2-digit MNC)."""
    try:
        plmn, cell = key.split("-")
        return common_pb2.NrCgi(plmn=ids.make_plmn(plmn[:3], plmn[3:]), nr_cell_identity=int(cell, 16))
    except ValueError as exc:
        raise ValidationError(f"cell key {key!r} is not <mcc><mnc>-<hex cell identity>") from exc


def parse_snssai(key: str) -> common_pb2.Snssai:
    sst, _, sd = key.partition("-")
    return ids.make_snssai(int(sst), sd)


def cell_info(cell: CellConfig) -> e2ap_pb2.CellInfo:
    return e2ap_pb2.CellInfo(cgi=parse_cell_key(cell.cgi), pci=cell.pci, nr_band=cell.nr_band, dl_arfcn=cell.dl_arfcn,
                             bandwidth_mhz=cell.bandwidth_mhz, scs_khz=cell.scs_khz, prb_count=cell.prb_count,
                             slices=[parse_snssai(s) for s in cell.slices])


def cells_of(gnb: common_pb2.GlobalGnbId, inventory: Sequence[CellConfig]) -> list[e2ap_pb2.CellInfo]:
    """The inventory cells of a gNB: same PLMN, and the gNB id in the leading bits of the NR cell identity."""
    out = []
    shift = 36 - gnb.gnb_id_bits
    for cell in inventory:
        info = cell_info(cell)
        if ids.plmn_key(info.cgi.plmn) == ids.plmn_key(gnb.plmn) and info.cgi.nr_cell_identity >> shift == gnb.gnb_id:
            out.append(info)
    return out


def ran_function(item: RanFunctionItem) -> tuple[e2ap_pb2.RanFunction, rc.FunctionDefinition | None]:
    """The internal view of an announced RAN function (KPM: KPM reports if report style 1 is offered; RC: slice
    quota if style 2 action 6 is offered). A definition outside the codec's subset is logged and offers nothing."""
    fn = e2ap_pb2.RanFunction(ran_function_id=item.function_id, oid=item.oid, revision=item.revision)
    try:
        desc = kpm.decode_function_description(item.definition)
        fn.short_name = desc.short_name
        if any(s.style == 1 for s in desc.report_styles):
            fn.report_styles.append(e2ap_pb2.REPORT_STYLE_KPM)
        return fn, None
    except CodecError:
        pass
    try:
        definition = rc.decode_function_definition(item.definition)
    except CodecError as exc:
        log.warning("RAN function definition not understood: offered without styles",
                    extra={"ran_function_id": item.function_id, "oid": item.oid, "error": str(exc)})
        return fn, None
    fn.short_name = definition.short_name
    if definition.supports(rc.STYLE_RADIO_RESOURCE_ALLOCATION, rc.ACTION_SLICE_PRB_QUOTA):
        fn.control_styles.append(e2ap_pb2.CONTROL_STYLE_SLICE_QUOTA)
    return fn, definition


def node_info(setup: E2SetupRequest, inventory: Sequence[CellConfig]) -> e2ap_pb2.E2NodeInfo:
    gnb = common_pb2.GlobalGnbId(plmn=plmn_from_bytes(setup.node.plmn), gnb_id=setup.node.gnb_id,
                                 gnb_id_bits=setup.node.gnb_id_bits)
    functions = [ran_function(item)[0] for item in setup.functions]
    return e2ap_pb2.E2NodeInfo(global_gnb_id=gnb, node_id=ids.node_id_for(gnb), cells=cells_of(gnb, inventory),
                               ran_functions=functions)
