"""Assignment of E2 nodes to replicas: a consistent-hash ring over the live members (pure).

Each member owns ``vnodes`` points on a 64-bit ring (blake2b of ``member#i``); a node belongs to the first
member point clockwise of its own hash. Adding or removing one replica moves only ~1/N of the nodes, and
every replica computes the same assignment from the same member list, so N replicas share the cells of a
large testbed without overlap and without a coordinator.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable


def _h(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class HashRing:
    def __init__(self, members: Iterable[str], vnodes: int = 64) -> None:
        self.members = sorted(set(members))
        points = sorted((_h(f"{m}#{i}"), m) for m in self.members for i in range(vnodes))
        self._keys = [p for p, _ in points]
        self._owners = [m for _, m in points]

    def owner(self, node_id: str) -> str | None:
        if not self._keys:
            return None
        i = bisect.bisect(self._keys, _h(node_id)) % len(self._keys)
        return self._owners[i]

    def assigned(self, node_ids: Iterable[str], member: str) -> list[str]:
        return sorted(n for n in node_ids if self.owner(n) == member)
