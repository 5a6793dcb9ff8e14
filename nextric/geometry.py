"""Planar geometry of zones (discs and corridors), vectorised over points: the emulator places UEs and shocks with
it, the rApp maps zones to cells with it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from nextric.arrays import FloatArray


class Zone(Protocol):
    """A named region: a disc (one centre point, radius) or a corridor (polyline, half-width ``radius_m``)."""

    @property
    def kind(self) -> str: ...

    @property
    def points(self) -> Sequence[tuple[float, float]]: ...

    @property
    def radius_m(self) -> float: ...


def polyline_projection(xy: FloatArray, pts: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Distance (m) of each point to a polyline and its arc-length coordinate along it (m).

    xy: (..., 2) float64 m; pts: (V, 2) float64 m, V >= 2. Returns two arrays of shape ``xy.shape[:-1]``.
    """
    a = pts[:-1]
    b = pts[1:]
    ab = b - a  # (V-1, 2)
    seg_len = np.linalg.norm(ab, axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])[:-1]
    rel = xy[..., None, :] - a  # (..., V-1, 2)
    t = np.clip((rel * ab).sum(-1) / np.maximum(seg_len**2, 1e-9), 0.0, 1.0)
    proj = a + t[..., None] * ab
    dist = np.linalg.norm(xy[..., None, :] - proj, axis=-1)
    k = np.argmin(dist, axis=-1)
    d = np.take_along_axis(dist, k[..., None], axis=-1)[..., 0]
    s = cum[k] + np.take_along_axis(t, k[..., None], axis=-1)[..., 0] * seg_len[k]
    return d, s


def polyline_length(pts: FloatArray) -> float:
    """Total length (m) of a polyline (V, 2)."""
    return float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())


def polyline_point(pts: FloatArray, s: FloatArray) -> FloatArray:
    """Points at arc-length ``s`` (any shape, m) along the polyline; returns ``s.shape + (2,)``."""
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    s = np.clip(s, 0.0, cum[-1])
    x = np.interp(s, cum, pts[:, 0])
    y = np.interp(s, cum, pts[:, 1])
    return np.stack([x, y], axis=-1)


def zone_distance(zone: Zone, xy: FloatArray) -> FloatArray:
    """Distance (m) from points ``xy`` (..., 2) to the zone's centre (circle) or centre line (corridor)."""
    pts = np.asarray(zone.points, dtype=np.float64)
    if zone.kind == "corridor" or len(pts) > 1:
        d, _ = polyline_projection(xy, pts)
        return d
    return np.asarray(np.linalg.norm(xy - pts[0], axis=-1), dtype=np.float64)


def in_zone(zone: Zone, xy: FloatArray) -> np.ndarray:
    """Boolean membership of points ``xy`` (..., 2) in the zone."""
    return zone_distance(zone, xy) <= zone.radius_m


def sample_in_zone(zone: Zone | None, n: int, width_m: float, height_m: float,
                   rng: np.random.Generator) -> FloatArray:
    """``n`` points (n, 2) uniform in the zone (or the whole area when ``zone`` is None), clipped to the area."""
    if zone is None:
        out = rng.uniform([0.0, 0.0], [width_m, height_m], size=(n, 2))
    elif zone.kind == "corridor" or len(zone.points) > 1:
        pts = np.asarray(zone.points, dtype=np.float64)
        s = rng.uniform(0.0, polyline_length(pts), size=n)
        base = polyline_point(pts, s)
        out = base + rng.uniform(-zone.radius_m, zone.radius_m, size=(n, 2)) * 0.7
    else:
        r = zone.radius_m * np.sqrt(rng.uniform(0.0, 1.0, size=n))
        th = rng.uniform(0.0, 2 * np.pi, size=n)
        out = np.asarray(zone.points[0]) + np.stack([r * np.cos(th), r * np.sin(th)], axis=-1)
    return np.clip(out, [0.0, 0.0], [width_m, height_m])
