"""Concepts the semantic layer matches unknown phrases to (slices, KPIs) and the matcher interface (pure).

The compiler only depends on :class:`ConceptMatcher`; ``semantic/`` implements it with a local sentence-embedding
model. A match below the matcher's calibrated threshold is never used: the compiler asks instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ConceptMatch:
    phrase: str
    kind: str  #: slice | kpi
    value: str  #: slice name or KPI name
    confidence: float  #: calibrated probability that the match is right
    accepted: bool  #: confidence >= the matcher's threshold


class ConceptMatcher(Protocol):
    threshold: float

    def match(self, phrases: list[str], kinds: tuple[str, ...]) -> list[ConceptMatch]:
        """Best concept of one of ``kinds`` per phrase (same order)."""
        ...


#: concept -> describing phrases (the embedding layer's anchors); slices are resolved to the scenario's names
CONCEPTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("slice", "URLLC"): ("ultra-reliable low-latency communications", "hospital medical devices",
                         "remote surgery robots", "patient monitoring equipment", "industrial automation control",
                         "emergency services and first responders", "vehicle-to-everything safety messages",
                         "mission critical machine control", "drones and remote control"),
    ("slice", "eMBB"): ("enhanced mobile broadband", "smartphone users browsing and streaming video",
                        "mobile subscribers on their phones", "commuters and passengers on the move",
                        "video streaming and social media", "crowds of fans with phones", "mobile gaming"),
    ("slice", "FWA"): ("fixed wireless access", "home broadband internet for households",
                       "residential customers with rooftop routers", "homes connected over the air",
                       "static home internet subscribers"),
    ("kpi", "p99_latency_ms"): ("latency", "delay", "response time", "lag", "round-trip time", "ping time",
                                "how fast packets arrive"),
    ("kpi", "packet_loss"): ("packet loss", "dropped packets", "lost packets", "packet error rate",
                             "data that never arrives"),
    ("kpi", "throughput_mbps"): ("throughput", "data rate", "download speed", "bandwidth", "bit rate",
                                 "capacity delivered"),
    ("kpi", "energy_cost"): ("energy consumption", "power usage", "electricity bill", "carbon footprint",
                             "energy cost"),
    ("kpi", "resource_cost"): ("resource cost", "spectrum usage", "radio resources used", "PRBs spent"),
    ("kpi", "link_utilisation"): ("link utilisation", "backhaul load", "transport link usage", "link congestion"),
}
