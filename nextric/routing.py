"""Transport routing with failures and rerouting, cached per failure pattern: the emulator carries traffic with
it, the twin rolls plans out with it and the rApp's planners ask it which links an area's traffic takes.

Each cell's traffic enters at its aggregation node and follows the shortest (hop count, then delay)
path of *up* links to the hub. The path incidence ``P[c, l]`` (bool) of a failure pattern is
computed once by Dijkstra and cached by the bitmask of link states.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from nextric.arrays import BoolArray, FloatArray, IntArray


@dataclass(eq=False)
class Router:
    """Shortest-path router (mutable cache only; results are pure functions of the link mask).

    Nodes are indices 0..n_nodes-1; link_src, link_dst (L,) node indices; link_delay_ms (L,); cell_agg (C,) the
    node each cell's traffic enters at."""

    n_nodes: int
    hub: int
    link_src: IntArray
    link_dst: IntArray
    link_delay_ms: FloatArray
    cell_agg: IntArray
    max_patterns: int = 256  #: failure patterns kept (least recently used dropped): bounded memory on long runs
    _cache: OrderedDict[bytes, tuple[BoolArray, BoolArray, list[int]]] = field(default_factory=OrderedDict)

    def _paths(self, up: BoolArray) -> tuple[BoolArray, BoolArray, list[int]]:
        n_l = len(self.link_src)
        # reverse Dijkstra from the hub over up links (cost: hops * 1e3 + delay)
        rev: list[list[tuple[int, int]]] = [[] for _ in range(self.n_nodes)]
        for li in range(n_l):
            if up[li]:
                rev[int(self.link_dst[li])].append((int(self.link_src[li]), li))
        dist = [np.inf] * self.n_nodes
        nxt = [-1] * self.n_nodes
        dist[self.hub] = 0.0
        heap: list[tuple[float, int]] = [(0.0, self.hub)]
        while heap:
            dv, v = heapq.heappop(heap)
            if dv > dist[v]:
                continue
            for u, li in rev[v]:
                nd = dv + 1e3 + float(self.link_delay_ms[li])
                if nd < dist[u]:
                    dist[u], nxt[u] = nd, li
                    heapq.heappush(heap, (nd, u))
        node_path = np.zeros((self.n_nodes, n_l), dtype=bool)
        for s in range(self.n_nodes):
            v, hops = s, 0
            while v != self.hub and nxt[v] >= 0 and hops <= n_l:
                node_path[s, nxt[v]] = True
                v = int(self.link_dst[nxt[v]])
                hops += 1
        reach = np.array([d < np.inf for d in dist])
        return node_path[self.cell_agg], reach[self.cell_agg], nxt

    def paths(self, link_up: BoolArray) -> tuple[BoolArray, BoolArray]:
        """Path incidence (B, C, L) bool and reachability (B, C) bool for link states (B, L) bool."""
        if link_up.shape[0] == 1 or (link_up == link_up[:1]).all():
            p, r = self._get(link_up[0])
            b = link_up.shape[0]
            if b == 1:
                return p[None], r[None]
            return np.broadcast_to(p, (b, *p.shape)), np.broadcast_to(r, (b, *r.shape))
        uniq, inv = np.unique(link_up, axis=0, return_inverse=True)
        got = [self._get(row) for row in uniq]
        inv = inv.reshape(-1)
        return np.stack([g[0] for g in got])[inv], np.stack([g[1] for g in got])[inv]

    def _get(self, up: BoolArray) -> tuple[BoolArray, BoolArray]:
        p, r, _ = self._entry(up)
        return p, r

    def _entry(self, up: BoolArray) -> tuple[BoolArray, BoolArray, list[int]]:
        key = np.packbits(up).tobytes()
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        hit = self._cache[key] = self._paths(up)
        if len(self._cache) > self.max_patterns:
            self._cache.popitem(last=False)
        return hit

    def node_route(self, node: int, link_up: BoolArray) -> list[int]:
        """Link indices from ``node`` to the hub in path order for the link states (L,) bool; empty when ``node``
        is the hub or cannot reach it."""
        _, _, nxt = self._entry(np.asarray(link_up, dtype=bool))
        out: list[int] = []
        v = node
        while v != self.hub and nxt[v] >= 0 and len(out) <= len(self.link_src):
            out.append(nxt[v])
            v = int(self.link_dst[nxt[v]])
        return out if v == self.hub else []
