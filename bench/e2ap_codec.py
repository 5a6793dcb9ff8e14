"""E2AP codec throughput per core: RIC Indications carrying an E2SM-KPM format 3 report of 10 UEs (3 measurements
each, one granularity period), decoded (E2AP PDU -> typed header + typed message) and encoded (typed -> E2AP PDU
bytes) on one core, against the internal gRPC path measured in the same run: the same numbers as a
``nextric.e2.v1.RicIndication`` (one KPM row per UE) parsed / serialised with protobuf. Also reported: asn1tools
(the second codec) on the E2SM part alone, and the cProfile of a pycrate decode (what limits it).

    python -m bench.e2ap_codec [--seconds 1.0] [--repeats 3] [--out bench/results/e2ap_codec.json]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asn1tools
from rich.console import Console
from rich.table import Table

from bench.common import RESULTS_DIR, machine, save_results
from bench.timing import MIN_REPEATS, Spread
from nextric.e2 import ids
from nextric.e2.v1 import common_pb2, e2ap_pb2
from nextric.e2ap import kpm
from nextric.e2ap import pdu as e2
from nextric.e2ap.schema import ASN1_DIR, COMMON, KPM_V3
from nextric.e2sm.kpm.v1 import kpm_pb2

UES = 10
NAMES = ("DRB.UEThpDl", "RRU.PrbUsedDl", "DRB.RlcSduDelayDl")
TARGET_PER_S = 2000.0
PLMN = b"\x00\xf1\x10"


def kpm_report(ues: int = UES) -> tuple[kpm.Header, kpm.Format3]:
    guami = kpm.Guami(PLMN)
    reports = tuple((kpm.UeId("gnb", 1000 + u, guami), kpm.Format1(
        tuple(kpm.Measurement(n) for n in NAMES), ((12.5 + u, 7 + u, 0.125 * u),), 1000)) for u in range(ues))
    return kpm.Header(kpm.ntp_from_unix_ms(1_700_000_000_000)), kpm.Format3(reports)


def encode_indication(header: kpm.Header, message: kpm.Format3) -> bytes:
    return e2.encode(e2.RicIndication(e2.RicRequestId(1001, 1), 2, 1, kpm.encode_header(header),
                                      kpm.encode_message(message), 1))


def decode_indication(data: bytes) -> tuple[kpm.Header, kpm.Format1 | kpm.Format3]:
    ind = e2.decode(data)
    assert isinstance(ind, e2.RicIndication)
    return kpm.decode_header(ind.header), kpm.decode_message(ind.message)


def protobuf_indication(ues: int = UES) -> e2ap_pb2.RicIndication:
    """The same numbers on the internal path: one KPM row per UE (cell + slice), 3 values each."""
    plmn = ids.make_plmn("001", "01")
    sets = [kpm_pb2.MeasurementSet(cgi=common_pb2.NrCgi(plmn=plmn, nr_cell_identity=0x19B001),
                                   snssai=ids.make_snssai(1, f"{1000 + u:06x}"), values=[12.5 + u, 7.0 + u, 0.125 * u])
            for u in range(ues)]
    rid = e2ap_pb2.RicRequestId(ric_requestor_id=1001, ric_instance_id=1)
    header = e2ap_pb2.RicIndicationHeader(node_id="gnb-00101-0000019b", ran_function_id=2, sequence_number=1,
                                          ric_request_id=rid, report_style=e2ap_pb2.REPORT_STYLE_KPM, sim_time_ms=1000)
    return e2ap_pb2.RicIndication(header=header, kpm=kpm_pb2.KpmIndicationMessage(
        granularity_period_ms=1000, measurement_names=list(NAMES), sets=sets))


def rates(fn: Callable[[], Any], seconds: float) -> tuple[float, float]:
    """Calls per wall second and per CPU second of this process (what one core would do: steadier than wall
    time on a shared host) of ``fn`` over about ``seconds`` (at least 20 calls)."""
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds and n >= 20:
            return n / elapsed, n / max(time.process_time() - c0, 1e-9)


def profile_top(fn: Callable[[], Any], calls: int = 30, top: int = 6) -> list[dict[str, Any]]:
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        fn()
    prof.disable()
    stats = pstats.Stats(prof, stream=io.StringIO()).sort_stats("tottime")
    total = sum(v[2] for v in stats.stats.values())  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]  # type: ignore[attr-defined]
    return [{"function": f"{Path(k[0]).name}:{k[1]}({k[2]})", "calls_per_op": v[1] / calls,
             "share_of_time": round(v[2] / total, 3)} for k, v in rows]


def run(seconds: float = 1.0, repeats: int = 3) -> dict[str, Any]:
    header, message = kpm_report()
    pdu_bytes = encode_indication(header, message)
    assert decode_indication(pdu_bytes) == (header, message)
    pb = protobuf_indication()
    pb_bytes = pb.SerializeToString()
    other = asn1tools.compile_files([str(ASN1_DIR / COMMON), str(ASN1_DIR / KPM_V3)], "per")
    msg_bytes = kpm.encode_message(message)
    cases: dict[str, Callable[[], Any]] = {
        "e2ap_decode": lambda: decode_indication(pdu_bytes),
        "e2ap_encode": lambda: encode_indication(header, message),
        "protobuf_decode": lambda: e2ap_pb2.RicIndication.FromString(pb_bytes),
        "protobuf_encode": pb.SerializeToString,
        "asn1tools_kpm_message_decode": lambda: other.decode("E2SM-KPM-IndicationMessage", msg_bytes),
    }
    samples: dict[str, list[float]] = {k: [] for k in cases}
    per_cpu: dict[str, list[float]] = {k: [] for k in cases}
    for fn in cases.values():  # warm-up, untimed
        rates(fn, 0.2 * seconds)
    for _ in range(repeats):  # interleaved, so drift on a shared host hits every case alike
        for name, fn in cases.items():
            wall_rate, cpu_rate = rates(fn, seconds)
            samples[name].append(wall_rate)
            per_cpu[name].append(cpu_rate)
    results: dict[str, dict[str, Any]] = {
        name: {"median_per_s": statistics.median(v), "min_per_s": min(v), "max_per_s": max(v),
               "spread_pct": 100.0 * (max(v) - min(v)) / statistics.median(v), "samples_per_s": v,
               "spread_per_s": Spread.of(v).as_dict(), "per_cpu_s": Spread.of(per_cpu[name]).as_dict(),
               "utilisation": Spread.of([w / c for w, c in zip(v, per_cpu[name], strict=True)]).as_dict()}
        for name, v in samples.items()}
    dec: float = results["e2ap_decode"]["median_per_s"]
    enc: float = results["e2ap_encode"]["median_per_s"]
    return {
        "what": f"RIC Indication, E2SM-KPM format 3, {UES} UEs x {len(NAMES)} measurements, one core",
        "bytes": {"e2ap_pdu": len(pdu_bytes), "protobuf": len(pb_bytes)},
        "seconds_per_sample": seconds, "repeats": repeats, "results": results,
        "ratio_to_protobuf": {"decode": dec / results["protobuf_decode"]["median_per_s"],
                              "encode": enc / results["protobuf_encode"]["median_per_s"]},
        "ratio_to_protobuf_per_repeat": {  # repeat i of each case ran side by side: one ratio per repeat
            op: Spread.of([a / b for a, b in zip(samples[f"e2ap_{op}"], samples[f"protobuf_{op}"], strict=True)]
                          ).as_dict() for op in ("decode", "encode")},
        "target_per_s": TARGET_PER_S,
        "target_met": {"decode": dec >= TARGET_PER_S, "encode": enc >= TARGET_PER_S},
        "decode_profile": profile_top(lambda: decode_indication(pdu_bytes)),
        "encode_profile": profile_top(lambda: encode_indication(header, message)),
        "machine": machine(),
    }


def print_table(res: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=res["what"])
    for col in ("path", "median /s", "min /s", "max /s", "spread %", "per CPU s (median)", "core share"):
        table.add_column(col)
    for name, r in res["results"].items():
        table.add_row(name, f"{r['median_per_s']:,.0f}", f"{r['min_per_s']:,.0f}", f"{r['max_per_s']:,.0f}",
                      f"{r['spread_pct']:.1f}", f"{r['per_cpu_s']['median']:,.0f}",
                      f"{r['utilisation']['median']:.2f}")
    console.print(table)
    ratio = res["ratio_to_protobuf"]
    console.print(f"E2AP/protobuf: decode x{ratio['decode']:.4f}, encode x{ratio['encode']:.4f}; "
                  f"target {res['target_per_s']:.0f}/s met: {res['target_met']}")
    for kind in ("decode_profile", "encode_profile"):
        console.print(f"{kind}: " + ", ".join(f"{p['function']} {100 * p['share_of_time']:.0f}%" for p in res[kind]))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.e2ap_codec", description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1.0, help="seconds per sample")
    ap.add_argument("--repeats", type=int, default=3, help="samples per path (median and spread reported)")
    ap.add_argument("--out", type=Path, default=RESULTS_DIR / "e2ap_codec.json")
    a = ap.parse_args(argv)
    res = run(a.seconds, max(MIN_REPEATS, a.repeats))
    print_table(res)
    path = save_results(a.out.stem, res, a.out.parent)
    print(path)


if __name__ == "__main__":
    main()
