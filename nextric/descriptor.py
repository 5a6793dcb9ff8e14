"""O-RAN SC xApp descriptors (``config-file.json`` + controls ``schema.json``), checked against the shape of the
OSC appmgr/xapp-onboarder descriptor schema: required top-level fields, containers with image
registry/name/tag, probes, messaging ports, rmr section, and ``controls`` valid against ``schema.json``.

Shared by every xApp's ``descriptor`` module (an app never imports another app).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

DESCRIPTOR_SHAPE: dict[str, Any] = {
    "type": "object",
    "required": ["name", "version", "containers", "messaging"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
        "version": {"type": "string", "pattern": r"^\d+\.\d+\.\d+$"},
        "containers": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["name", "image"],
            "properties": {"name": {"type": "string"}, "image": {
                "type": "object", "required": ["registry", "name", "tag"],
                "properties": {k: {"type": "string"} for k in ("registry", "name", "tag")}},
                "command": {"type": "array", "items": {"type": "string"}}}}},
        "livenessProbe": {"type": "object", "required": ["httpGet"]},
        "readinessProbe": {"type": "object", "required": ["httpGet"]},
        "messaging": {"type": "object", "required": ["ports"], "properties": {"ports": {"type": "array", "items": {
            "type": "object", "required": ["name", "container", "port"],
            "properties": {"port": {"type": "integer", "minimum": 1, "maximum": 65535},
                           "rxMessages": {"type": "array", "items": {"type": "string"}},
                           "txMessages": {"type": "array", "items": {"type": "string"}},
                           "policies": {"type": "array", "items": {"type": "integer"}}}}}}},
        "rmr": {"type": "object", "required": ["protPort", "maxSize", "numWorkers"]},
        "controls": {"type": "object"},
        "metrics": {"type": "array", "items": {"type": "object",
                                               "required": ["objectName", "objectInstance", "name", "type"]}},
    },
}


def validate(folder: Path) -> list[str]:
    """Problems found (empty = valid)."""
    problems: list[str] = []
    config = json.loads((folder / "config-file.json").read_text())
    schema = json.loads((folder / "schema.json").read_text())
    for err in jsonschema.Draft7Validator(DESCRIPTOR_SHAPE).iter_errors(config):
        problems.append(f"config-file.json {'/'.join(map(str, err.path))}: {err.message}")
    jsonschema.Draft7Validator.check_schema(schema)
    for err in jsonschema.Draft7Validator(schema).iter_errors(config.get("controls", {})):
        problems.append(f"controls {'/'.join(map(str, err.path))}: {err.message}")
    containers = {c["name"] for c in config.get("containers", [])}
    for port in config.get("messaging", {}).get("ports", []):
        if port.get("container") not in containers:
            problems.append(f"messaging port {port.get('name')}: unknown container {port.get('container')!r}")
    return problems
