"""The house's import rules (docs/architecture.md), checked on every module's imports, function-level ones included:

* ``nextric/`` (the runtime) imports no app, no benchmark, not the composition root;
* an app (``testbed``, ``policy``, ``e2term``, each ``xapps/<name>``, each ``rapps/<name>``) imports no other app:
  apps meet through proto messages, SDL keys and the policy API; in particular the rApp sees the network only
  through its interfaces and imports nothing from ``testbed``;
* ``bench/`` imports no composition root (``suite/``).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("testbed", "policy", "e2term", "xapps", "rapps")
UPPER = ("bench", "suite")


def owner(module: str) -> str | None:
    """The app (or layer) of a dotted module name: ``xapps.slice_scheduler.app`` -> ``xapps.slice_scheduler``."""
    parts = module.split(".")
    if parts[0] in ("xapps", "rapps"):
        return ".".join(parts[:2]) if len(parts) > 1 else parts[0]
    if parts[0] in (*APPS, *UPPER, "nextric"):
        return parts[0]
    return None


def imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out += [(node.lineno, node.module)] + [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return out


def sources(top: str) -> list[Path]:
    return sorted(p for p in (ROOT / top).rglob("*.py") if "node_modules" not in p.parts)


def violations(top: str, allowed: Callable[[str, str], bool]) -> list[str]:
    bad = []
    for path in sources(top):
        me = owner(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for line, mod in imports(path):
            other = owner(mod)
            if other is not None and me is not None and not allowed(me, other):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {mod}")
    return sorted(set(bad))


def test_the_runtime_imports_no_app() -> None:
    assert violations("nextric", lambda me, other: other == "nextric") == []


@pytest.mark.parametrize("top", APPS)
def test_an_app_imports_no_other_app(top: str) -> None:
    assert violations(top, lambda me, other: other in ("nextric", me)) == []


def test_the_rapp_imports_nothing_from_the_testbed() -> None:
    hits = [f"{p.relative_to(ROOT)}:{line}" for p in sources("rapps") for line, mod in imports(p)
            if mod == "testbed" or mod.startswith("testbed.")]
    assert hits == []


def test_benchmarks_do_not_reach_up_to_the_composition_root() -> None:
    assert violations("bench", lambda me, other: other != "suite") == []


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """The rules above can fail: a planted import of the testbed from an rApp module is found."""
    f = tmp_path / "planted.py"
    f.write_text("def f():\n    from testbed.twin import DigitalTwin\n    return DigitalTwin\n", encoding="utf-8")
    assert (2, "testbed.twin") in imports(f)
    assert owner("testbed.twin") == "testbed"
    assert owner("rapps.intent_agent.x") == "rapps.intent_agent"
