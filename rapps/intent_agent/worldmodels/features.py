"""Inputs and targets of the world models, built from observations and the city configuration only (numpy).

* :class:`Context`: what the planner knows at decision time — per (cell, slice) offered load and capacity per
  PRB estimated from KPM (:func:`nextric.kpm.load_estimate`, the twin's own estimate), link alarms, the shock
  family the twin assumes.
* :class:`CityRaster`: the city of the twin's description (:class:`nextric.topology.Topology`) on a G x G raster
  (default 16 x 16 over 2 x 2 km, 125 m pixels): nearest-site (Voronoi) map, zone masks, transport-link segments,
  a mobility prior from the UE groups.
* :func:`fwm_grid`: the FWM input channels (B, CH, G, G) float32 for a context and one action per row.
* :func:`context_vector`: the CDWM's initial-state input (B, D_CTX) float32.
* :func:`fwm_targets`: the 12 per-cell field features (paper, section X-B) from a twin rollout's first slow
  step (the twin service's per-step detail), averaged over twin seeds.

Field features per cell (``FIELD_FEATURES``): delivered capacity per slice (log1p Mbit/s, 3), offered load per
slice (log1p Mbit/s, 3), critical-zone stress = RAN drop fraction per slice (3), transport bottleneck =
transport drop fraction (1), PRB utilisation (1), SINR-equivalent (dB, 1) = 10 log10(2^SE - 1) with SE the
demand-weighted capacity per PRB over the PRB's resource elements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from nextric.arrays import BoolArray, FloatArray
from nextric.control import reference
from nextric.errors import ValidationError
from nextric.geometry import in_zone
from nextric.kpm import KpmReport, load_estimate
from nextric.routing import Router
from nextric.topology import Topology

GRID = 16
FIELD_FEATURES = ("cap_embb", "cap_urllc", "cap_fwa", "load_embb", "load_urllc", "load_fwa",
                  "stress_embb", "stress_urllc", "stress_fwa", "tn_bottleneck", "prb_util", "sinr_eq_db")
N_FIELD = len(FIELD_FEATURES)
CHANNELS = ("sites", "demand_embb", "demand_urllc", "demand_fwa", "cap_embb", "cap_urllc", "cap_fwa",
            "prb_embb", "prb_urllc", "prb_fwa", "link_state", "tn_embb", "tn_urllc", "tn_fwa",
            "zone_hospital", "zone_fwa", "zone_corridor", "mobility")
N_CH = len(CHANNELS)
FAMILIES = ("hotspot", "wave")


@dataclass(frozen=True, eq=False)
class Context:
    """Observed state at a decision: offered (C, S) Mbit/s, capacity (C, S) Mbit/PRB/s, link_up (L,) bool."""

    offered_mbps: FloatArray
    mbit_per_prb_s: FloatArray
    link_up: BoolArray
    family: str  #: shock family the twin assumes ("hotspot" | "wave")

    @staticmethod
    def observed(topo: Topology, reports: Sequence[KpmReport], regime: str, link_up: BoolArray | None = None
                 ) -> Context:
        """The context of KPM ``reports`` (time-weighted load and capacity per PRB), link alarms (None = all up)
        and the regime the twin assumes (``hotspot-ID`` ... ``wave-OOD``: its family)."""
        offered, cap = load_estimate(reports, [c.cell_id for c in topo.cells], topo.n_slices)
        up = np.ones(topo.n_links, dtype=bool) if link_up is None else np.asarray(link_up, dtype=bool).copy()
        if up.shape != (topo.n_links,):
            raise ValidationError(f"link_up needs {topo.n_links} values, got {up.shape}")
        return Context(offered, cap, up, regime_family(regime))


def regime_family(regime: str) -> str:
    """``hotspot-ID`` -> ``hotspot``: the shock family of a regime label (an error for an unknown family)."""
    parts = regime.lower().split("-")
    if parts[0] not in (*FAMILIES, "both", "none") or len(parts) > 2 or (len(parts) == 2 and
                                                                          parts[1] not in ("id", "ood")):
        raise ValidationError(f"unknown shock regime {regime!r}: <hotspot|wave|both|none>-<ID|OOD>")
    return parts[0]


class StepVolumes(Protocol):
    """Per slow step volumes of a rollout, (N, M, K, C, S): Mbit offered, delivered, dropped in the RAN and in
    transport, PRB x sub-steps allocated (the twin service's ``StepDetail``)."""

    @property
    def offered(self) -> FloatArray: ...

    @property
    def delivered(self) -> FloatArray: ...

    @property
    def drop_ran(self) -> FloatArray: ...

    @property
    def drop_tn(self) -> FloatArray: ...

    @property
    def alloc_prb(self) -> FloatArray: ...


@dataclass(frozen=True, eq=False)
class CityRaster:
    """Static rasters of one scenario (built once, reused for every candidate)."""

    topo: Topology
    voronoi: np.ndarray  #: (G, G) int nearest cell
    sites: FloatArray  #: (G, G) Gaussian blobs at cell sites
    zones: FloatArray  #: (3, G, G) hospital, fwa, corridor masks
    links: FloatArray  #: (L, G, G) link segment masks
    mobility: FloatArray  #: (G, G) UE-count-weighted speed prior (m/s, normalised)
    cell_pixels: FloatArray  #: (C,) pixels per Voronoi cell
    n_prb: FloatArray  #: (C,)
    bits_per_re_scale: FloatArray  #: (C,) bit/s per (bit/RE) per PRB
    link_cap_mbps: FloatArray  #: (L,)
    cell_kind: np.ndarray  #: (C,) 0 generic, 1 hospital, 2 fwa, 3 corridor (hospital > fwa > corridor)
    link_kind: np.ndarray  #: (L,) 0 generic, 1 corridor, 2 hospital uplink
    router: Router

    @staticmethod
    def build(topo: Topology, grid: int = GRID) -> CityRaster:
        cell_xy = topo.cell_xy
        xs = (np.arange(grid) + 0.5) * topo.width_m / grid
        ys = (np.arange(grid) + 0.5) * topo.height_m / grid
        gx, gy = np.meshgrid(xs, ys, indexing="xy")
        pts = np.stack([gx.ravel(), gy.ravel()], axis=-1)  # (G*G, 2)
        d = np.linalg.norm(pts[:, None, :] - cell_xy[None], axis=-1)  # (G*G, C)
        vor = d.argmin(1).reshape(grid, grid)
        sites = np.exp(-0.5 * (d / (0.6 * topo.width_m / grid)) ** 2).sum(1).reshape(grid, grid)
        masks = []
        for zkind in ("hospital", "fwa", "corridor"):
            m = np.zeros(grid * grid, dtype=bool)
            for z in topo.zones:
                if z.kind == zkind:
                    m |= in_zone(z, pts)
            masks.append(m.reshape(grid, grid).astype(np.float64))
        node_xy = {name: np.array([x, y]) for name, x, y in topo.nodes}
        links = np.zeros((topo.n_links, grid, grid))
        for li, ln in enumerate(topo.links):
            a, b = node_xy[ln.src], node_xy[ln.dst]
            for t in np.linspace(0.0, 1.0, 4 * grid):
                x, y = a + t * (b - a)
                i = min(max(int(y / topo.height_m * grid), 0), grid - 1)
                j = min(max(int(x / topo.width_m * grid), 0), grid - 1)
                links[li, i, j] = 1.0
        mob = np.zeros(grid * grid)
        zone_by_name = {z.name: z for z in topo.zones}
        for g in topo.ue_groups:
            area = in_zone(zone_by_name[g.zone], pts) if g.zone in zone_by_name else np.ones(len(pts), dtype=bool)
            mob += area * g.count * g.speed_mps / max(int(area.sum()), 1)
        mob = mob / max(float(mob.max()), 1e-9)
        codes = {"generic": 0, "hospital": 1, "fwa": 2, "corridor": 3}
        kind = np.array([codes[k] for k in reference.cell_kinds(topo)], dtype=np.int64)
        lcodes = {"generic": 0, "corridor": 1, "hospital_uplink": 2}
        lkind = np.array([lcodes[k] for k in reference.link_kinds(topo)], dtype=np.int64)
        return CityRaster(topo, vor, sites / max(float(sites.max()), 1e-9), np.stack(masks), links,
                          mob.reshape(grid, grid),
                          np.bincount(vor.ravel(), minlength=topo.n_cells).astype(np.float64),
                          np.array([c.prb_count for c in topo.cells], dtype=np.float64),
                          np.array([c.re_rate_per_prb for c in topo.cells], dtype=np.float64),
                          np.array([ln.capacity_mbps for ln in topo.links], dtype=np.float64), kind, lkind,
                          topo.router)

    def paths(self, link_up: BoolArray) -> tuple[BoolArray, BoolArray]:
        """Path incidence (C, L) and reachability (C,) for the link state."""
        p, r = self.router.paths(np.asarray(link_up, dtype=bool)[None])
        return p[0], r[0]


def prb_need(ras: CityRaster, ctx: Context) -> FloatArray:
    """Share of each cell's PRBs that carries the observed offered load per slice (C, S)."""
    return np.asarray(ctx.offered_mbps / np.maximum(ctx.mbit_per_prb_s * ras.n_prb[:, None], 1e-9))


def link_need(ras: CityRaster, ctx: Context) -> FloatArray:
    """Share of each link's capacity that carries the observed offered load routed over it (L, S)."""
    p, _ = ras.paths(ctx.link_up)
    load = p.T.astype(np.float64) @ ctx.offered_mbps  # (L, S)
    return np.asarray(load / ras.link_cap_mbps[:, None])


def fwm_grid(ras: CityRaster, ctx: Context, prb: FloatArray, tn: FloatArray) -> np.ndarray:
    """FWM input (B, N_CH, G, G) float32 for actions prb (B, C, S) and tn (B, L, S) in one context."""
    b = prb.shape[0]
    g = ras.voronoi.shape[0]
    vor = ras.voronoi
    dens = np.log1p(ctx.offered_mbps / ras.cell_pixels[:, None])  # (C, S)
    cap = ctx.mbit_per_prb_s / 3.0
    static = np.concatenate([ras.sites[None], np.moveaxis(dens[vor], -1, 0), np.moveaxis(cap[vor], -1, 0)])
    up = np.where(ctx.link_up, 1.0, -1.0)
    link_state = np.einsum("l,lij->ij", up, ras.links)
    fam = 1.0 if ctx.family == "wave" else 0.0
    mob = ras.mobility * (1.0 + fam)
    out = np.empty((b, N_CH, g, g), dtype=np.float32)
    out[:, :7] = static[None]
    out[:, 7:10] = np.moveaxis(prb[:, vor], -1, 1)
    out[:, 10] = link_state[None]
    out[:, 11:14] = np.einsum("bls,lij->bsij", tn, ras.links)
    out[:, 14:17] = ras.zones[None]
    out[:, 17] = mob[None]
    return out




def context_vector(ctx: Context) -> np.ndarray:
    """CDWM initial-state input (D_CTX,) float32: log1p offered, capacity per PRB, link_up, family flag."""
    return np.concatenate([np.log1p(ctx.offered_mbps).ravel(), (ctx.mbit_per_prb_s / 3.0).ravel(),
                           ctx.link_up.astype(np.float64), [1.0 if ctx.family == "wave" else 0.0]]).astype(np.float32)


def fwm_targets(steps: StepVolumes, ras: CityRaster, ctx: Context, step: int = 0) -> np.ndarray:
    """Field features (N, C, 12) float32 of slow step ``step`` of a per-step rollout, mean over twin seeds."""
    sl = (slice(None), slice(None), step)
    off = steps.offered[sl]  # (N, M, C, S) Mbit over the slow step
    dur = ras.topo.slow_step_s
    deliv = steps.delivered[sl]
    d_ran = steps.drop_ran[sl]
    d_tn = steps.drop_tn[sl]
    alloc = steps.alloc_prb[sl]  # PRB x sub-steps
    f = ras.topo.fast_steps_per_slow
    off_c = off.sum(-1)
    feats = np.concatenate([
        np.log1p(deliv / dur), np.log1p(off / dur),
        np.where(off > 1e-9, d_ran / np.maximum(off, 1e-9), 0.0),
        np.where(off_c > 1e-9, d_tn.sum(-1) / np.maximum(off_c, 1e-9), 0.0)[..., None],
        (alloc.sum(-1) / (f * ras.n_prb))[..., None],
    ], axis=-1)  # (N, M, C, 11)
    w = np.maximum(ctx.offered_mbps, 1e-6)
    se = (ctx.mbit_per_prb_s * w).sum(-1) / w.sum(-1) * 1e6 / ras.bits_per_re_scale  # bit/RE
    sinr = 10.0 * np.log10(np.maximum(2.0 ** np.minimum(se, 12.0) - 1.0, 1e-3))
    out = np.concatenate([feats.mean(1), np.broadcast_to(sinr[None, :, None], (*feats.shape[:1], ras.topo.n_cells, 1))],
                         axis=-1)
    return np.asarray(out, dtype=np.float32)


def context_from_vector(v: np.ndarray, n_cells: int, n_slices: int, n_links: int) -> Context:
    """Inverse of :func:`context_vector`."""
    cs = n_cells * n_slices
    v = np.asarray(v, dtype=np.float64)
    return Context(np.expm1(v[:cs]).reshape(n_cells, n_slices), (3.0 * v[cs:2 * cs]).reshape(n_cells, n_slices),
                   v[2 * cs:2 * cs + n_links] > 0.5, "wave" if v[2 * cs + n_links] > 0.5 else "hotspot")
