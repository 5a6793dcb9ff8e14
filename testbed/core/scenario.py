"""Load a scenario YAML into frozen :class:`~testbed.core.params.ScenarioParams`, validating as it goes.

Cells follow the srsRAN Project gNB YAML style: a ``cell_cfg`` block of defaults
(``band``, ``dl_arfcn``, ``channel_bandwidth_MHz``, ``common_scs``, ``nof_antennas_dl``, ``slicing``
with ``sst``/``sd``/``sched_cfg.{min,max,ded}_prb_policy_ratio``) and a ``cells`` list of per-cell
overrides (``pci``, ``position``...). Every error is a :class:`~nextric.errors.ConfigError` naming the
file and the field path.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from nextric.errors import ConfigError
from nextric.kpi import CostWeights
from nextric.routing import Router
from testbed.core.nrtables import bits_per_prb_per_second, n_prb
from testbed.core.params import (
    CellParams,
    CityArrays,
    HotspotParams,
    LinkParams,
    OodParams,
    RadioParams,
    RatioPolicy,
    ScenarioParams,
    SliceParams,
    TimingParams,
    TransportParams,
    UeGroupParams,
    WaveParams,
    ZoneParams,
)
from testbed.core.pathloss import model_by_name

TDL_PROFILES = ("TDL-A", "TDL-B", "TDL-C")
ZONE_KINDS = ("hospital", "fwa", "corridor", "generic")
MOBILITY = ("pedestrian", "vehicle", "static")
SET_B_KINDS = ("subset", "wide")  #: radio.set_b_kind (see testbed.core.beams)


class _Node:
    """A YAML mapping with its path, for typed getters that raise clear errors."""

    def __init__(self, data: Any, path: str, src: str) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{src}: {path or '<root>'} must be a mapping, got {type(data).__name__}")
        self.data: Mapping[str, Any] = data
        self.path = path
        self.src = src

    def _p(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def err(self, key: str, msg: str) -> ConfigError:
        return ConfigError(f"{self.src}: {self._p(key)}: {msg}")

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                raise self.err(key, "required field is missing")
            return default
        return self.data[key]

    def num(self, key: str, default: Any = ..., lo: float | None = None, hi: float | None = None) -> float:
        v = self.raw(key, default)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.err(key, f"expected a number, got {v!r}")
        if lo is not None and v < lo:
            raise self.err(key, f"must be >= {lo}, got {v}")
        if hi is not None and v > hi:
            raise self.err(key, f"must be <= {hi}, got {v}")
        return float(v)

    def int_(self, key: str, default: Any = ..., lo: int | None = None, hi: int | None = None) -> int:
        v = self.raw(key, default)
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.err(key, f"expected an integer, got {v!r}")
        return int(self.num(key, default, lo, hi))

    def str_(self, key: str, default: Any = ..., choices: tuple[str, ...] | None = None) -> str:
        v = self.raw(key, default)
        if not isinstance(v, str):
            raise self.err(key, f"expected a string, got {v!r}")
        if choices is not None and v not in choices:
            raise self.err(key, f"must be one of {list(choices)}, got {v!r}")
        return v

    def bool_(self, key: str, default: Any = ...) -> bool:
        v = self.raw(key, default)
        if not isinstance(v, bool):
            raise self.err(key, f"expected true/false, got {v!r}")
        return v

    def sub(self, key: str, default: Any = ...) -> _Node:
        return _Node(self.raw(key, default), self._p(key), self.src)

    def items(self, key: str, default: Any = ...) -> list[_Node]:
        v = self.raw(key, default)
        if not isinstance(v, list):
            raise self.err(key, f"expected a list, got {type(v).__name__}")
        return [_Node(x, f"{self._p(key)}[{i}]", self.src) for i, x in enumerate(v)]

    def point(self, key: str) -> tuple[float, float]:
        v = self.raw(key)
        if (not isinstance(v, list | tuple) or len(v) != 2
                or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)):
            raise self.err(key, f"expected [x, y] in metres, got {v!r}")
        return float(v[0]), float(v[1])

    def floats(self, key: str, n: int, default: Any = ...) -> tuple[float, ...]:
        v = self.raw(key, default)
        if (not isinstance(v, list | tuple) or len(v) != n
                or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)):
            raise self.err(key, f"expected a list of {n} numbers, got {v!r}")
        return tuple(float(x) for x in v)


def arfcn_to_ghz(arfcn: int) -> float:
    """NR-ARFCN to carrier frequency (GHz), TS 38.104 Section 5.4.2.1 global frequency raster (FR1/FR2)."""
    if 0 <= arfcn < 600_000:
        return arfcn * 5e-6
    if 600_000 <= arfcn < 2_016_667:
        return 3.0 + (arfcn - 600_000) * 15e-6
    if 2_016_667 <= arfcn <= 3_279_165:
        return 24.25008 + (arfcn - 2_016_667) * 60e-6
    raise ConfigError(f"NR-ARFCN {arfcn} is outside 0..3279165 (TS 38.104 5.4.2.1)")


def _slices(root: _Node) -> tuple[SliceParams, ...]:
    out = []
    for n in root.items("slices"):
        sd = n.raw("sd")
        sd_s = f"{sd:06x}" if isinstance(sd, int) else str(sd)
        if len(sd_s) != 6 or any(ch not in "0123456789abcdefABCDEF" for ch in sd_s):
            raise n.err("sd", f"slice differentiator must be 6 hex digits, got {sd!r}")
        p99 = n.raw("sla_p99_ms", None)
        out.append(SliceParams(
            name=n.str_("name"), sst=n.int_("sst", lo=1, hi=255), sd=sd_s.lower(),
            packet_bytes=n.num("packet_bytes", lo=1.0), base_delay_ms=n.num("base_delay_ms", lo=0.0),
            discard_ms=n.num("discard_ms", lo=1.0), sla_loss=n.num("sla_loss", lo=1e-6, hi=1.0),
            sla_p99_ms=None if p99 is None else n.num("sla_p99_ms", lo=0.1)))
    if not out:
        raise root.err("slices", "at least one slice is required")
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise root.err("slices", f"slice names must be unique, got {names}")
    keys = [(s.sst, s.sd) for s in out]
    if len(set(keys)) != len(keys):
        raise root.err("slices", f"S-NSSAI (sst, sd) must be unique, got {keys}")
    return tuple(out)


def _policy(n: _Node, path_key: str) -> RatioPolicy:
    sc = n.sub(path_key, {})
    pol = RatioPolicy(dedicated=sc.num("ded_prb_policy_ratio", 0, 0, 100),
                      min=sc.num("min_prb_policy_ratio", 0, 0, 100),
                      max=sc.num("max_prb_policy_ratio", 100, 0, 100))
    if not pol.dedicated <= pol.min <= pol.max:
        raise n.err(path_key, f"need ded <= min <= max prb_policy_ratio, got {pol}")
    return pol


def _cell_policies(n: _Node, slices: tuple[SliceParams, ...], defaults: tuple[RatioPolicy, ...]) -> tuple[
    RatioPolicy, ...
]:
    if not n.has("slicing"):
        return defaults
    by_key: dict[tuple[int, str], RatioPolicy] = {}
    for item in n.items("slicing"):
        sd = item.raw("sd", 0)
        sd_s = f"{sd:06x}" if isinstance(sd, int) else str(sd).lower()
        by_key[(item.int_("sst"), sd_s)] = _policy(item, "sched_cfg")
    known = {(s.sst, s.sd) for s in slices}
    for key in by_key:
        if key not in known:
            raise n.err("slicing", f"S-NSSAI sst={key[0]} sd={key[1]} is not a declared slice")
    pols = tuple(by_key.get((s.sst, s.sd), d) for s, d in zip(slices, defaults, strict=True))
    if sum(p.min for p in pols) > 100 + 1e-9:
        raise n.err("slicing", "sum of min_prb_policy_ratio over slices exceeds 100 (TS 28.541)")
    if sum(p.dedicated for p in pols) > 100 + 1e-9:
        raise n.err("slicing", "sum of ded_prb_policy_ratio over slices exceeds 100 (TS 28.541)")
    return pols


def _cells(root: _Node, slices: tuple[SliceParams, ...], node_names: tuple[str, ...]) -> tuple[
    CellParams, ...
]:
    base = root.sub("cell_cfg")
    default_pols = _cell_policies(base, slices, tuple(RatioPolicy(0, 0, 100) for _ in slices))
    out = []
    for i, n in enumerate(root.items("cells")):
        merged = {**base.data, **n.data}
        m = _Node(merged, f"cells[{i}]", root.src)
        bw = m.int_("channel_bandwidth_MHz")
        scs = m.int_("common_scs")
        try:
            nprb = n_prb(bw, scs)
        except ConfigError as exc:
            raise m.err("channel_bandwidth_MHz", str(exc)) from None
        arfcn = m.int_("dl_arfcn", lo=0)
        agg = m.str_("agg_node")
        if agg not in node_names:
            raise m.err("agg_node", f"unknown transport node {agg!r}; nodes: {list(node_names)}")
        prof = m.str_("tdl_profile", "TDL-C", TDL_PROFILES)
        x, y = m.point("position")
        out.append(CellParams(
            cell_id=m.int_("cell_id", lo=0), name=m.str_("name", f"cell-{m.raw('cell_id')}"), x_m=x, y_m=y,
            pci=m.int_("pci", lo=0, hi=1007), band=m.int_("band", lo=1), dl_arfcn=arfcn,
            fc_ghz=arfcn_to_ghz(arfcn), bandwidth_mhz=bw, scs_khz=scs, n_prb=nprb,
            nof_antennas_dl=m.int_("nof_antennas_dl", 1, 1, 64),
            tx_power_dbm=m.num("tx_power_dBm", 40.0, -10.0, 60.0), height_m=m.num("height_m", 10.0, 1.0),
            azimuth_deg=m.num("azimuth_deg", 0.0), agg_node=agg, tdl_profile=prof,
            delay_spread_ns=m.num("delay_spread_ns", 100.0, 1.0, 5000.0),
            policies=_cell_policies(n, slices, default_pols)))
    if not out:
        raise root.err("cells", "at least one cell is required")
    ids = [c.cell_id for c in out]
    if len(set(ids)) != len(ids):
        raise root.err("cells", f"cell_id values must be unique, got {ids}")
    return tuple(out)


def _zones(root: _Node) -> tuple[ZoneParams, ...]:
    out = []
    for n in root.items("zones", []):
        kind = n.str_("kind", choices=ZONE_KINDS)
        if n.has("center"):
            pts: tuple[tuple[float, float], ...] = (n.point("center"),)
            r = n.num("radius_m", lo=1.0)
        else:
            raw = n.raw("polyline")
            if not isinstance(raw, list) or len(raw) < 2:
                raise n.err("polyline", "a corridor needs a polyline of >= 2 [x, y] points")
            pts = tuple(_Node({"p": p}, f"{n.path}.polyline[{j}]", n.src).point("p") for j, p in enumerate(raw))
            r = n.num("half_width_m", lo=1.0)
        out.append(ZoneParams(name=n.str_("name"), kind=kind, points=pts, radius_m=r))
    return tuple(out)


def _transport(root: _Node, slices: tuple[SliceParams, ...]) -> TransportParams:
    t = root.sub("transport")
    nodes = t.items("nodes")
    names = tuple(x.str_("name") for x in nodes)
    if len(set(names)) != len(names):
        raise t.err("nodes", f"node names must be unique, got {list(names)}")
    hubs = [x.str_("name") for x in nodes if x.bool_("hub", False)]
    if len(hubs) != 1:
        raise t.err("nodes", f"exactly one node must have hub: true, got {hubs}")
    links = []
    for ln in t.items("links"):
        src, dst = ln.str_("src"), ln.str_("dst")
        for k, v in (("src", src), ("dst", dst)):
            if v not in names:
                raise ln.err(k, f"unknown node {v!r}; nodes: {list(names)}")
        if src == dst:
            raise ln.err("dst", "a link must join two different nodes")
        links.append(LinkParams(name=ln.str_("name", f"{src}->{dst}"), src=src, dst=dst,
                                capacity_mbps=ln.num("capacity_mbps", lo=1e-3),
                                delay_ms=ln.num("delay_ms", 1.0, 0.0), corridor=ln.bool_("corridor", False)))
    fail = t.sub("failure", {})
    # default priority: slices with a delay ceiling first (strict), the others share the next level
    prio = t.sub("slice_priority", {})
    names_s = [s.name for s in slices]
    unknown = [k for k in (prio.data or {}) if k not in names_s]
    if unknown:
        raise t.err("slice_priority", f"unknown slices {unknown}; slices: {names_s}")
    priority = tuple(prio.int_(s.name, 1 if s.sla_p99_ms is not None else 2, lo=1, hi=8) for s in slices)
    return TransportParams(nodes=names, node_xy=tuple(x.point("position") for x in nodes), hub=hubs[0],
                           links=tuple(links), fail_prob_per_s=fail.num("prob_per_s", 0.0, 0.0, 1.0),
                           mttr_s=fail.num("mttr_s", 30.0, 1e-3),
                           packet_bytes=t.num("packet_bytes", 1000.0, 1.0),
                           sharing=t.str_("sharing", "partitioned", ("work_conserving", "partitioned")),
                           priority=priority)


def _intensity(n: _Node, key: str, n_slices: int) -> tuple[float, ...]:
    vals = n.floats(key, n_slices)
    if any(v < 0 for v in vals):
        raise n.err(key, "demand multipliers must be >= 0")
    return vals


def load_scenario_dict(data: Any, src: str = "<dict>") -> ScenarioParams:
    """Validate a parsed YAML document and build the frozen scenario (see module docstring)."""
    root = _Node(data, "", src)
    slices = _slices(root)
    transport = _transport(root, slices)
    cells = _cells(root, slices, transport.nodes)
    zones = _zones(root)
    zone_names = {z.name for z in zones}
    area = root.sub("area")
    tm = root.sub("timing")
    timing = TimingParams(fast_step_s=tm.num("fast_step_s", lo=1e-3),
                          fast_per_slow=tm.int_("fast_steps_per_slow", lo=1),
                          slow_per_horizon=tm.int_("slow_steps_per_horizon", lo=1))
    groups = []
    for g in root.items("ue_groups"):
        sl = g.str_("slice")
        if sl not in [s.name for s in slices]:
            raise g.err("slice", f"unknown slice {sl!r}")
        zone = g.raw("zone", None)
        if zone is not None and zone not in zone_names:
            raise g.err("zone", f"unknown zone {zone!r}; zones: {sorted(zone_names)}")
        groups.append(UeGroupParams(
            name=g.str_("name"), slice_index=[s.name for s in slices].index(sl), zone=zone,
            count=g.int_("count", lo=0), mobility=g.str_("mobility", "pedestrian", MOBILITY),
            speed_mps=g.num("speed_mps", 1.4, 0.0, 100.0), rate_mbps=g.num("rate_mbps", lo=0.0),
            burstiness=g.num("burstiness", 0.3, 0.0, 3.0), height_m=g.num("height_m", 1.5, 1.0, 30.0)))
    r = root.sub("radio", {})
    model_by_name(r.str_("pathloss_model", "UMi"))
    n_a = r.int_("n_beams_set_a", 32, 1, 256)
    set_b_raw = r.raw("set_b", None)
    if set_b_raw is None:
        stride = max(1, n_a // r.int_("n_beams_set_b", 8, 1, 256))
        set_b = tuple(range(stride // 2, n_a, stride))
    else:
        if not isinstance(set_b_raw, list) or not all(isinstance(b, int) and 0 <= b < n_a for b in set_b_raw):
            raise r.err("set_b", f"expected a list of Set-A beam indices in 0..{n_a - 1}")
        set_b = tuple(int(b) for b in set_b_raw)
    n_ant = r.int_("n_antennas", 16, 1, 256)
    set_b_kind = r.str_("set_b_kind", "subset", SET_B_KINDS)
    if set_b_kind == "wide":  # the beam width is a design choice (see testbed.core.beams): no default
        set_b_elements = r.int_("set_b_elements", ..., 1, n_ant)
    else:
        if r.has("set_b_elements"):
            raise r.err("set_b_elements", "only for set_b_kind: wide (a Set-B subset uses the full array)")
        set_b_elements = 0
    radio = RadioParams(
        pathloss_model=r.str_("pathloss_model", "UMi"), noise_figure_db=r.num("noise_figure_db", 9.0),
        element_gain_dbi=r.num("element_gain_dbi", 8.0), n_candidate_cells=r.int_("n_candidate_cells", 8, 1),
        handover_hysteresis_db=r.num("handover_hysteresis_db", 3.0, 0.0),
        n_antennas=n_ant, n_beams_set_a=n_a, set_b=set_b,
        n_clusters=r.int_("n_clusters", 4, 0, 20), los_k_factor_db=r.num("los_k_factor_db", 9.0),
        cluster_spread_deg=r.num("cluster_spread_deg", 15.0, 0.0), rsrp_noise_db=r.num("rsrp_noise_db", 1.0, 0.0),
        overhead=r.num("overhead", 0.14, 0.0, 0.9), mimo_layers=r.int_("mimo_layers", 1, 1, 8),
        sinr_est_noise_db=r.num("sinr_est_noise_db", 1.0, 0.0),
        beam_override_ttl_steps=r.int_("beam_override_ttl_steps", 15, 1),
        set_b_kind=set_b_kind, set_b_elements=set_b_elements)
    sh = root.sub("shocks", {})
    hotspot = None
    if sh.has("hotspot"):
        h = sh.sub("hotspot")
        hz = h.str_("zone")
        if hz not in zone_names:
            raise h.err("zone", f"unknown zone {hz!r}")
        hotspot = HotspotParams(zone=hz, rate_per_slow_step=h.num("rate_per_slow_step", lo=0.0),
                                position_sigma_m=h.num("position_sigma_m", 150.0, 0.0),
                                radius_m=h.num("radius_m", lo=1.0),
                                intensity=_intensity(h, "intensity", len(slices)),
                                duration_s=h.num("duration_s", lo=1e-3),
                                link_fail_mult=h.num("link_fail_mult", 1.0, 0.0))
    wave = None
    if sh.has("wave"):
        w = sh.sub("wave")
        wz = w.str_("zone")
        if wz not in zone_names or next(z for z in zones if z.name == wz).kind != "corridor":
            raise w.err("zone", f"{wz!r} is not a corridor zone")
        wave = WaveParams(zone=wz, rate_per_slow_step=w.num("rate_per_slow_step", lo=0.0),
                          speed_mps=w.num("speed_mps", lo=1e-3), width_m=w.num("width_m", lo=1.0),
                          intensity=_intensity(w, "intensity", len(slices)), duration_s=w.num("duration_s", lo=1e-3),
                          link_fail_mult=w.num("link_fail_mult", 1.0, 0.0))
    o = sh.sub("ood", {})
    ood = OodParams(intensity_mult=o.num("intensity_mult", 1.5, 0.0), duration_mult=o.num("duration_mult", 2.0, 0.0),
                    fail_mult=o.num("fail_mult", 3.0, 0.0), rate_mult=o.num("rate_mult", 1.5, 0.0))
    c = root.sub("cost", {})
    cost = CostWeights(w_prb=c.num("w_prb", 0.4, 0.0), w_transport=c.num("w_transport", 0.4, 0.0),
                      w_change=c.num("w_change", 0.2, 0.0))
    return ScenarioParams(
        name=root.str_("name"), description=root.str_("description", ""), width_m=area.num("width_m", lo=1.0),
        height_m=area.num("height_m", lo=1.0), timing=timing, slices=slices, cells=cells, zones=zones,
        ue_groups=tuple(groups), transport=transport, radio=radio, hotspot=hotspot, wave=wave, ood=ood,
        cost=cost, source=src,
        plan_shares=root.str_("plan_shares", "isolated", ("isolated", "guaranteed")))


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``: mappings merge key by key, anything else (lists included) replaces."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
    return out


def load_scenario(name_or_path: str | Path) -> ScenarioParams:
    """Load a scenario by bundled name (``"twm_poc"``) or by file path; validates (ConfigError on failure).

    A document with ``extends: <bundled name>`` is that scenario's document with this one merged on top
    (mappings key by key, lists replaced), e.g. ``{extends: twm_poc, name: ..., radio: {set_b_kind: wide}}``."""
    data, src = _document(name_or_path, ())
    return load_scenario_dict(data, src)


def _document(name_or_path: str | Path, seen: tuple[str, ...]) -> tuple[Any, str]:
    p = Path(name_or_path)
    if p.suffix not in (".yaml", ".yml"):
        res = resources.files("testbed.scenarios").joinpath(f"{name_or_path}.yaml")
        if not res.is_file():
            avail = sorted(x.name.removesuffix(".yaml") for x in resources.files("testbed.scenarios").iterdir()
                           if x.name.endswith(".yaml"))
            raise ConfigError(f"unknown scenario {name_or_path!r}; bundled scenarios: {avail}")
        text, src = res.read_text(encoding="utf-8"), f"{name_or_path}.yaml"
    else:
        if not p.is_file():
            raise ConfigError(f"scenario file {p} does not exist")
        text, src = p.read_text(encoding="utf-8"), str(p)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{src}: invalid YAML: {exc}") from None
    if isinstance(data, Mapping) and "extends" in data:
        base_name = data["extends"]
        if not isinstance(base_name, str) or Path(base_name).suffix in (".yaml", ".yml"):
            raise ConfigError(f"{src}: extends: expected a bundled scenario name, got {base_name!r}")
        if base_name in seen or base_name == str(name_or_path):
            raise ConfigError(f"{src}: extends: cycle through {base_name!r}")
        base, _ = _document(base_name, (*seen, str(name_or_path)))
        data = _merge(base, {k: v for k, v in data.items() if k != "extends"})
    return data, src


def city_arrays(sc: ScenarioParams) -> CityArrays:
    """Vectorised arrays derived from a scenario (see :class:`CityArrays`)."""
    nodes = list(sc.transport.nodes)
    return CityArrays(
        cell_xy=np.array([[c.x_m, c.y_m] for c in sc.cells], dtype=np.float64),
        n_prb=np.array([c.n_prb for c in sc.cells], dtype=np.float64),
        bits_per_re_scale=np.array([bits_per_prb_per_second(c.scs_khz, sc.radio.overhead, sc.radio.mimo_layers)
                                    for c in sc.cells]),
        cell_agg=np.array([nodes.index(c.agg_node) for c in sc.cells], dtype=np.int64),
        link_src=np.array([nodes.index(ln.src) for ln in sc.transport.links], dtype=np.int64),
        link_dst=np.array([nodes.index(ln.dst) for ln in sc.transport.links], dtype=np.int64),
        link_cap_mbps=np.array([ln.capacity_mbps for ln in sc.transport.links], dtype=np.float64),
        link_delay_ms=np.array([ln.delay_ms for ln in sc.transport.links], dtype=np.float64),
        link_corridor=np.array([ln.corridor for ln in sc.transport.links], dtype=bool),
        default_ratio=np.array([[[p.dedicated, p.min, p.max] for p in c.policies] for c in sc.cells]),
        slice_packet_bits=np.array([8.0 * s.packet_bytes for s in sc.slices]),
        slice_base_delay_s=np.array([s.base_delay_ms / 1e3 for s in sc.slices]),
        slice_discard_s=np.array([s.discard_ms / 1e3 for s in sc.slices]),
        tn_priority=np.array(sc.transport.priority or (1,) * sc.n_slices, dtype=np.int64),
        tn_work_conserving=sc.transport.sharing == "work_conserving",
    )


def router_of(sc: ScenarioParams, arr: CityArrays | None = None) -> Router:
    """The transport router of a scenario (:class:`nextric.routing.Router`)."""
    arr = arr or city_arrays(sc)
    return Router(len(sc.transport.nodes), sc.transport.nodes.index(sc.transport.hub), arr.link_src, arr.link_dst,
                  arr.link_delay_ms, arr.cell_agg)
