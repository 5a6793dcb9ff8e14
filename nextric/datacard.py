"""Wireless data cards and model cards: load, validate with clear errors, check a validity range.

Sections follow the position paper's appendix B: ``task``, ``configuration``, ``provenance``
(simulator name/version, scenario, channel model, seeds), ``environment``, ``protocol`` (layer and
timescale), ``policy`` (incl. the logging policy), ``evaluation``. A model card (``kind: model``) adds
``model`` (name, format, inputs, outputs) and a ``validity_range``: per parameter either
``{min, max}`` or ``{values: [...]}``; apps refuse to trust a model outside it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nextric.errors import ValidationError

SCHEMA_VERSION = "1.0"
KINDS = ("dataset", "model")
LAYERS = ("PHY", "MAC", "RAN", "TRANSPORT", "CORE", "EDGE", "APPLICATION", "CROSS-DOMAIN")

#: required fields per section (nested "a.b" paths); types checked loosely: str / number / list / mapping
_REQUIRED: dict[str, dict[str, type | tuple[type, ...]]] = {
    "task": {"name": str, "description": str},
    "configuration": {},
    "provenance": {"source": str, "simulator.name": str, "simulator.version": str, "scenario": str,
                   "channel_model": str, "seeds": list},
    "environment": {"setting": str, "topology": str},
    "protocol": {"layer": str, "timescale_s": (int, float)},
    "policy": {"objectives": list, "logging_policy": str},
    "evaluation": {"baselines": list, "distribution_shifts": list, "failure_criteria": list},
}


@dataclass(frozen=True)
class DataCard:
    """A validated card (``raw`` keeps the full document)."""

    kind: str
    name: str
    raw: Mapping[str, Any]

    @property
    def validity_range(self) -> Mapping[str, Any]:
        v = self.raw.get("validity_range", {})
        return v if isinstance(v, Mapping) else {}

    def to_json(self) -> str:
        return json.dumps(self.raw, indent=2, sort_keys=True, default=str)


def _get(d: Mapping[str, Any], dotted: str) -> Any:
    cur: Any = d
    for part in dotted.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            raise KeyError(dotted)
        cur = cur[part]
    return cur


def validate_card(doc: Any, source: str = "<card>") -> DataCard:
    """Validate a parsed card; raises :class:`ValidationError` naming the field and the reason."""
    if not isinstance(doc, Mapping):
        raise ValidationError(f"{source}: a card must be a mapping, got {type(doc).__name__}")
    kind = doc.get("kind", "dataset")
    if kind not in KINDS:
        raise ValidationError(f"{source}: kind must be one of {list(KINDS)}, got {kind!r}")
    if not isinstance(doc.get("name"), str) or not doc["name"]:
        raise ValidationError(f"{source}: name: required non-empty string")
    for section, fields in _REQUIRED.items():
        sec = doc.get(section)
        if not isinstance(sec, Mapping):
            raise ValidationError(f"{source}: {section}: required section is missing or not a mapping")
        for f, typ in fields.items():
            try:
                v = _get(sec, f)
            except KeyError:
                raise ValidationError(f"{source}: {section}.{f}: required field is missing") from None
            if not isinstance(v, typ) or isinstance(v, bool):
                raise ValidationError(f"{source}: {section}.{f}: expected {getattr(typ, '__name__', typ)}, "
                                      f"got {type(v).__name__}")
    layer = doc["protocol"]["layer"]
    if layer.upper() not in LAYERS:
        raise ValidationError(f"{source}: protocol.layer: {layer!r} not in {list(LAYERS)}")
    if doc["protocol"]["timescale_s"] <= 0:
        raise ValidationError(f"{source}: protocol.timescale_s: must be > 0")
    if not all(isinstance(s, int) and not isinstance(s, bool) for s in doc["provenance"]["seeds"]):
        raise ValidationError(f"{source}: provenance.seeds: must be a list of integers")
    if kind == "model":
        m = doc.get("model")
        if not isinstance(m, Mapping) or not all(isinstance(m.get(k), str) for k in ("name", "format")):
            raise ValidationError(f"{source}: model: a model card needs model.name and model.format")
        if "validity_range" not in doc:
            raise ValidationError(f"{source}: validity_range: required for a model card")
    vr = doc.get("validity_range", {})
    if not isinstance(vr, Mapping):
        raise ValidationError(f"{source}: validity_range: must be a mapping")
    for p, spec in vr.items():
        if not isinstance(spec, Mapping) or not (("values" in spec and isinstance(spec["values"], list))
                                                 or ("min" in spec or "max" in spec)):
            raise ValidationError(f"{source}: validity_range.{p}: expected {{min, max}} or {{values: [...]}}")
        lo, hi = spec.get("min"), spec.get("max")
        if lo is not None and hi is not None and lo > hi:
            raise ValidationError(f"{source}: validity_range.{p}: min {lo} > max {hi}")
    return DataCard(kind=kind, name=doc["name"], raw=doc)


def load_card(path: str | Path) -> DataCard:
    """Load a YAML or JSON card from ``path`` and validate it."""
    p = Path(path)
    if not p.is_file():
        raise ValidationError(f"card file {p} does not exist")
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValidationError(f"{p}: invalid YAML/JSON: {exc}") from None
    return validate_card(doc, str(p))


def save_card(card: DataCard, path: str | Path) -> Path:
    """Write the card as YAML (or JSON when the suffix is .json)."""
    p = Path(path)
    text = card.to_json() if p.suffix == ".json" else yaml.safe_dump(dict(card.raw), sort_keys=False)
    p.write_text(text, encoding="utf-8")
    return p


def validity_violations(card: DataCard, config: Mapping[str, Any]) -> list[str]:
    """Human-readable reasons why ``config`` lies outside the card's validity range (empty = valid).

    A parameter the card constrains but ``config`` does not provide is a violation too.
    """
    out: list[str] = []
    for p, spec in card.validity_range.items():
        if p not in config:
            out.append(f"{p}: not provided (card {card.name} requires it)")
            continue
        v = config[p]
        if "values" in spec and v not in spec["values"]:
            out.append(f"{p}={v!r} not in {spec['values']}")
        if "min" in spec and (not isinstance(v, int | float) or v < spec["min"]):
            out.append(f"{p}={v!r} below min {spec['min']}")
        if "max" in spec and (not isinstance(v, int | float) or v > spec["max"]):
            out.append(f"{p}={v!r} above max {spec['max']}")
    return out


def within_validity(card: DataCard, config: Mapping[str, Any]) -> bool:
    """True when ``config`` satisfies every validity-range entry of ``card``."""
    return not validity_violations(card, config)


def failed_criteria(card: DataCard) -> list[str]:
    """The card's machine-checkable failure criteria that its own evaluation meets (empty = the model passes).

    ``evaluation.failure_checks`` is a list of ``{"metric": "<dotted path in evaluation, * = every key>",
    "min": x}`` and/or ``"max": y`` (the prose ``failure_criteria`` say the same in words). A metric the card
    names but does not report counts as failed: an unevaluated model is not trusted."""
    ev = card.raw.get("evaluation", {})
    checks = ev.get("failure_checks", []) if isinstance(ev, Mapping) else []
    out: list[str] = []
    for chk in checks:
        path = str(chk.get("metric", ""))
        values = _lookup(ev, path.split("."), path)
        if not values:
            out.append(f"{card.name}: {path} not reported")
        for name, v in values:
            if not isinstance(v, int | float):
                out.append(f"{card.name}: {name} is not a number ({v!r})")
            elif "min" in chk and v < chk["min"]:
                out.append(f"{card.name}: {name} = {v:.3g} < {chk['min']}")
            elif "max" in chk and v > chk["max"]:
                out.append(f"{card.name}: {name} = {v:.3g} > {chk['max']}")
    return out


def _lookup(node: Any, parts: list[str], prefix: str) -> list[tuple[str, Any]]:
    if not parts:
        return [(prefix, node)]
    head, rest = parts[0], parts[1:]
    if not isinstance(node, Mapping):
        return []
    if head == "*":
        return [hit for k, v in node.items() for hit in _lookup(v, rest, prefix.replace("*", str(k), 1))]
    return _lookup(node[head], rest, prefix) if head in node else []
