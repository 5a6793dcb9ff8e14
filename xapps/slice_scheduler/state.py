"""Per-cell state kept in SDL so a restarted replica (or the one that takes a cell over) carries on (pure codec).

Key ``cell/<cell key>`` in the xApp's namespace: the min ratios in force (smoothing), the ratios last sent
and when (the guardrail's current configuration and rate-limit clock) and the E2 node incarnation they were
sent to (a node that restarted since forgot them and restarted its simulated clock), in JSON. The decisions
read this state from the app's :class:`~xapps.slice_scheduler.book.SliceBook` (arrays), loaded from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from nextric.control.slices import Ratio


@dataclass
class CellState:
    cell_key: str
    previous_min: dict[str, int] | None = None
    sent: dict[str, Ratio] = field(default_factory=dict)
    sent_at_s: float | None = None
    incarnation: int = 0  #: E2 node incarnation that ``sent`` and ``sent_at_s`` refer to (0: unknown)

    def node_restarted(self, incarnation: int) -> None:
        """The node came back as ``incarnation``: it runs its defaults again and its clock restarted, so
        nothing sent before is in force and the rate-limit clock is void (the smoothing baseline stays)."""
        self.sent, self.sent_at_s, self.incarnation = {}, None, incarnation

    def encode(self) -> bytes:
        return json.dumps(
            {"cell": self.cell_key, "previous_min": self.previous_min,
             "sent": {k: list(v) for k, v in self.sent.items()}, "sent_at_s": self.sent_at_s,
             "incarnation": self.incarnation}
        ).encode()

    @staticmethod
    def decode(raw: bytes) -> CellState:
        obj = json.loads(raw)
        sent = {k: (int(v[0]), int(v[1]), int(v[2])) for k, v in obj.get("sent", {}).items()}
        return CellState(obj["cell"], obj.get("previous_min"), sent, obj.get("sent_at_s"),
                         incarnation=int(obj.get("incarnation", 0)))


def state_key(cell_key: str) -> str:
    return f"cell/{cell_key}"
