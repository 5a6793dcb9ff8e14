"""O-RAN SC xApp descriptors (``config-file.json`` + the controls schema ``schema.json``), checked the way the O-RAN
SC xApp onboarder checks them, with the onboarder's own schema file.

The onboarder (o-ran-sc/ric-plt-appmgr, ``xapp_onboarder/api/onboard.py``) takes its descriptor schema
(``helm_controller/xapp_schema.py``), replaces ``properties.controls`` (a placeholder that requires
``__empty_control_section__``) by the xApp's ``schema.json`` when one is given, checks the result as a Draft-7 schema
and validates ``config-file.json`` against it. :func:`validate` does the same with the schema file passed in (the
project keeps no copy: ``../shared/reference/osc-xapp-descriptor-schema.json`` from the project root), then adds the
project's conventions the schema does not express (each messaging port names a declared container and is a TCP
port number).

Shared by every xApp's ``descriptor`` module (an app never imports another app)::

    python -m nextric.descriptor [--schema PATH] deploy/xapps/slice_scheduler [...]
"""

from __future__ import annotations

import argparse
import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsonschema

from nextric.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]  #: the project root (this file is nextric/descriptor.py)
#: where the O-RAN SC onboarder's schema lies, relative to the project root (reference data kept outside it)
SCHEMA_FROM_ROOT = Path("..") / "shared" / "reference" / "osc-xapp-descriptor-schema.json"
CONFIG_FILE = "config-file.json"
CONTROLS_SCHEMA_FILE = "schema.json"


def default_schema_path(root: Path = ROOT) -> Path:
    """The onboarder's schema next to the project (``<root>/../shared/reference/...``); ConfigError when absent."""
    path = (root / SCHEMA_FROM_ROOT).resolve()
    if not path.is_file():
        raise ConfigError(f"the O-RAN SC xApp descriptor schema is not at {path}: pass its path (--schema PATH; it "
                          "is xapp_onboarder/helm_controller/xapp_schema.py of o-ran-sc/ric-plt-appmgr as JSON)")
    return path


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{what} {path} is not readable JSON: {exc}") from None


def _read_object(path: Path, name: str, what: str) -> dict[str, Any] | str:
    """The JSON object in ``path``, or the problem (unreadable, not JSON, not an object) as text."""
    try:
        loaded = _read_json(path, name)
    except ConfigError as exc:
        return str(exc)
    if not isinstance(loaded, dict):
        return f"{name}: {what} is a JSON {type(loaded).__name__}, not an object"
    return loaded


def onboarder_schema(schema_path: Path, controls_schema: dict[str, Any] | None) -> dict[str, Any]:
    """The schema the onboarder validates a descriptor against: the OSC schema at ``schema_path`` with
    ``properties.controls`` replaced by the xApp's controls schema (kept as is when there is none)."""
    base = _read_json(schema_path, "O-RAN SC descriptor schema")
    if not isinstance(base, dict) or not isinstance(base.get("properties"), dict):
        raise ConfigError(f"{schema_path} is no O-RAN SC descriptor schema (no top-level 'properties' object)")
    schema: dict[str, Any] = copy.deepcopy(base)
    if controls_schema is not None:
        schema["properties"]["controls"] = controls_schema
    return schema


def _where(err: jsonschema.ValidationError) -> str:
    return "/".join(map(str, err.absolute_path)) or "(top level)"


def _short(message: str, limit: int = 240) -> str:
    """jsonschema quotes the whole offending instance; a long one is cut so that the problem stays readable."""
    return message if len(message) <= limit else message[: limit - 5] + " ...'"


def conventions(config: dict[str, Any]) -> list[str]:
    """The project's rules the OSC schema leaves out: every messaging port belongs to a declared container (the
    standard chart silently drops a port whose container does not exist) and is a TCP port number."""
    problems: list[str] = []
    containers = {c.get("name") for c in config.get("containers", []) if isinstance(c, dict)}
    messaging = config.get("messaging")
    ports = messaging.get("ports", []) if isinstance(messaging, dict) else []
    for port in ports if isinstance(ports, list) else []:
        if not isinstance(port, dict):
            continue
        if port.get("container") not in containers:
            problems.append(f"messaging port {port.get('name')!r}: unknown container {port.get('container')!r}")
        number = port.get("port")
        if isinstance(number, int) and not 1 <= number <= 65535:
            problems.append(f"messaging port {port.get('name')!r}: {number} is no TCP port (1-65535)")
    return problems


def validate(folder: Path, schema_path: Path) -> list[str]:
    """Problems of the descriptor in ``folder`` (empty = the onboarder would accept it and it meets the project's
    conventions). ``schema_path`` is the O-RAN SC onboarder's descriptor schema. Raises ConfigError when that schema
    is missing or unusable; a descriptor's own files that are missing or broken are reported as problems."""
    problems: list[str] = []
    config = _read_object(folder / CONFIG_FILE, CONFIG_FILE, "the descriptor")
    if isinstance(config, str):
        return [config]
    controls_schema: dict[str, Any] | None = None
    if (folder / CONTROLS_SCHEMA_FILE).exists():
        loaded = _read_object(folder / CONTROLS_SCHEMA_FILE, CONTROLS_SCHEMA_FILE, "a schema")
        if isinstance(loaded, str):
            return [loaded]
        controls_schema = loaded
    schema = onboarder_schema(schema_path, controls_schema)
    try:
        jsonschema.Draft7Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        source = CONTROLS_SCHEMA_FILE if controls_schema is not None else str(schema_path)
        return [f"{source}: not a valid Draft-7 schema: {exc.message}"]
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(config), key=lambda e: list(map(str, e.path)))
    for err in errors:
        problems.append(f"{CONFIG_FILE} {_where(err)}: {_short(err.message)}")
    problems.extend(conventions(config))
    return problems


def main(argv: Sequence[str] | None = None, default_folders: Sequence[Path] = ()) -> int:
    """Check descriptor folders; prints each problem, exit status 1 when there is one (2 on a usage error)."""
    parser = argparse.ArgumentParser(description="Check O-RAN SC xApp descriptors with the onboarder's schema.")
    parser.add_argument("folders", nargs="*", type=Path, help="folders holding config-file.json (+ schema.json)")
    parser.add_argument("--schema", type=Path, default=None,
                        help=f"the O-RAN SC descriptor schema (default: <project>/{SCHEMA_FROM_ROOT.as_posix()})")
    args = parser.parse_args(argv)
    folders: list[Path] = list(args.folders) or list(default_folders)
    if not folders:
        parser.error("name at least one descriptor folder")
    try:
        schema_path: Path = args.schema if args.schema is not None else default_schema_path()
        failed = False
        for folder in folders:
            for problem in validate(folder, schema_path):
                print(f"{folder}: {problem}")
                failed = True
    except ConfigError as exc:
        parser.exit(2, f"error: {exc}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
