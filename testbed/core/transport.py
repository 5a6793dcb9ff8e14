"""Transport graph routing with failures and rerouting (hub-and-spoke + ring), cached per failure pattern.

Each cell's traffic enters at its aggregation node and follows the shortest (hop count, then delay)
path of *up* links to the hub. The path incidence ``P[c, l]`` (bool) of a failure pattern is
computed once by Dijkstra and cached by the bitmask of link states.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np

from testbed.core.params import CityArrays, ScenarioParams
from testbed.core.types import BoolArray, FloatArray


@dataclass(eq=False)
class Router:
    """Shortest-path router (mutable cache only; results are pure functions of the link mask)."""

    n_nodes: int
    hub: int
    link_src: np.ndarray
    link_dst: np.ndarray
    link_delay_ms: FloatArray
    cell_agg: np.ndarray
    _cache: dict[bytes, tuple[BoolArray, BoolArray]] = field(default_factory=dict)

    @staticmethod
    def build(sc: ScenarioParams, arr: CityArrays) -> Router:
        return Router(len(sc.transport.nodes), sc.transport.nodes.index(sc.transport.hub), arr.link_src,
                      arr.link_dst, arr.link_delay_ms, arr.cell_agg)

    def _paths(self, up: BoolArray) -> tuple[BoolArray, BoolArray]:
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
        return node_path[self.cell_agg], reach[self.cell_agg]

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
        key = np.packbits(up).tobytes()
        if key not in self._cache:
            self._cache[key] = self._paths(up)
        return self._cache[key]
