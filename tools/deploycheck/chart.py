"""Static lint of a Helm chart without a helm binary (none is installable from the registries this project uses).

Checked: ``Chart.yaml`` (apiVersion v2, name = folder, SemVer version, appVersion); ``values.yaml`` against
``values.schema.json`` (what helm itself enforces at install/lint); in every template: action delimiters, block
structure (if/range/with/define/block ... end, else only inside if/with/range), every ``.Values`` path exists in
values.yaml, every field read from a ``range ... := .Values.components`` item is a property of the component
schema, every ``include``/``template`` name is defined, every function is a Go template, Sprig or Helm function
known here, and ``.Release``/``.Chart``/``.Capabilities`` fields are ones helm sets.

NOT checked (needs helm's Go template engine): the rendered output (YAML validity, Kubernetes schemas), the
types that functions receive, ``required``/``fail`` messages firing, whitespace trimming. The kustomize manifests
in deploy/k8s/ are the rendered, schema-validated form of the same deployment.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ACTION = re.compile(r"\{\{(-?)(.*?)(-?)\}\}", re.S)
OPENERS = {"if", "range", "with", "define", "block"}
KEYWORDS = OPENERS | {"else", "end", "template", "nil", "true", "false", "break", "continue"}
FUNCTIONS = {
    # Go text/template
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "eq", "ne", "lt", "le", "gt", "ge",
    "html", "js", "urlquery", "call",
    # Helm
    "include", "tpl", "required", "toYaml", "fromYaml", "toJson", "fromJson", "toToml", "lookup", "fail",
    # Sprig (the ones a chart commonly needs)
    "default", "empty", "coalesce", "ternary", "quote", "squote", "trim", "trimSuffix", "trimPrefix", "trunc",
    "lower", "upper", "title", "replace", "contains", "hasPrefix", "hasSuffix", "nindent", "indent", "b64enc",
    "b64dec", "sha256sum", "list", "dict", "get", "set", "hasKey", "keys", "merge", "mergeOverwrite", "pick",
    "omit", "toString", "int", "int64", "float64", "atoi", "add", "sub", "mul", "div", "mod", "max", "min",
    "until", "join", "split", "splitList", "first", "last", "append", "uniq", "has", "regexMatch", "kindIs",
    "typeOf", "semverCompare", "randAlphaNum", "now", "date", "toDate", "deepCopy", "cat", "repeat", "camelcase",
    "kebabcase", "snakecase",
}
BUILTINS = {
    "Release": {"Name", "Namespace", "Service", "IsUpgrade", "IsInstall", "Revision"},
    "Chart": {"Name", "Version", "AppVersion", "Description", "Type", "KubeVersion", "Home"},
    "Capabilities": {"KubeVersion", "APIVersions", "HelmVersion"},
    "Template": {"Name", "BasePath"},
    "Files": set(), "Values": set(),
}
SEMVER = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def _strip_strings(code: str) -> str:
    return re.sub(r'"(?:\\.|[^"\\])*"|`[^`]*`', '""', code)


def _values_path_ok(values: Any, path: list[str]) -> bool:
    node = values
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def lint_template(path: Path, values: dict[str, Any], component_props: set[str], defined: set[str]) -> list[str]:
    text = path.read_text()
    name = path.name
    problems: list[str] = []
    outside = ACTION.sub("", text)
    if "{{" in outside or "}}" in outside:
        problems.append(f"{name}: unbalanced '{{{{' or '}}}}'")
    stack: list[tuple[str, int]] = []
    range_vars: set[str] = set()
    for m in ACTION.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        code = m.group(2).strip()
        if code.startswith("/*"):
            if not code.endswith("*/"):
                problems.append(f"{name}:{line}: unterminated comment")
            continue
        bare = _strip_strings(code)
        words = bare.split()
        head = words[0] if words else ""
        if head in OPENERS:
            stack.append((head, line))
            if head == "range" and ":=" in bare and ".Values.components" in bare:
                range_vars.update(v.strip(" ,") for v in bare.split(":=")[0].split()[1:])
        elif head == "end":
            if not stack:
                problems.append(f"{name}:{line}: 'end' without an open block")
            else:
                stack.pop()
        elif head == "else" and (not stack or stack[-1][0] not in {"if", "with", "range"}):
            problems.append(f"{name}:{line}: 'else' outside if/with/range")
        for inc in re.finditer(r'\b(?:include|template)\s+"([^"]+)"', code):
            if inc.group(1) not in defined:
                problems.append(f"{name}:{line}: {inc.group(1)!r} is not defined in any template")
        for ref in re.finditer(r"(?<![\w$])\$?\.Values((?:\.[A-Za-z_]\w*)*)", bare):
            parts = [p for p in ref.group(1).split(".") if p]
            if parts and not _values_path_ok(values, parts):
                problems.append(f"{name}:{line}: .Values.{'.'.join(parts)} is not in values.yaml")
        for ref in re.finditer(r"(?<![\w$.])\$?\.(Release|Chart|Capabilities|Template)\.(\w+)", bare):
            if ref.group(2) not in BUILTINS[ref.group(1)]:
                problems.append(f"{name}:{line}: .{ref.group(1)}.{ref.group(2)} is not set by helm")
        for var in range_vars - {"$name", "$_"}:
            for ref in re.finditer(re.escape(var) + r"\.(\w+)", bare):
                if ref.group(1) not in component_props:
                    problems.append(f"{name}:{line}: {var}.{ref.group(1)} is not a component property")
        for token in re.finditer(r"(?<![\w$.:\"])([A-Za-z_]\w*)\b(?!\s*:=)", bare):
            word = token.group(1)
            if word in KEYWORDS or word in FUNCTIONS:
                continue
            problems.append(f"{name}:{line}: unknown function or keyword {word!r}")
    for opener, line in stack:
        problems.append(f"{name}:{line}: '{opener}' is never closed with 'end'")
    return problems


def lint_chart(chart: Path) -> list[str]:
    problems: list[str] = []
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    if meta.get("apiVersion") != "v2":
        problems.append("Chart.yaml: apiVersion must be v2")
    if meta.get("name") != chart.name:
        problems.append(f"Chart.yaml: name {meta.get('name')!r} != folder {chart.name!r}")
    for key in ("version", "appVersion"):
        if not SEMVER.match(str(meta.get(key, ""))):
            problems.append(f"Chart.yaml: {key} {meta.get(key)!r} is not SemVer")
    values = yaml.safe_load((chart / "values.yaml").read_text())
    schema = json.loads((chart / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    for err in jsonschema.Draft7Validator(schema).iter_errors(values):
        problems.append(f"values.yaml {'/'.join(map(str, err.path))}: {err.message}")
    component_props = set(schema["definitions"]["component"]["properties"])
    templates = sorted((chart / "templates").glob("*"))
    defined = {m.group(1) for t in templates for m in re.finditer(r'\{\{-?\s*define\s+"([^"]+)"', t.read_text())}
    for t in templates:
        if t.suffix in (".yaml", ".yml", ".tpl", ".txt"):
            problems += lint_template(t, values, component_props, defined)
    return problems
