"""Metric names follow Prometheus conventions: base units (seconds, bits, bytes, ratios), never a scaled or
non-base unit suffix, and no ``_total`` in a counter's declared name (the client library adds it).

Two checks: every component's registry (each ``metrics.py`` of the runtime and the apps, created on its own
registry) is rendered in the exposition format and read back with prometheus_client's parser; and every metric
constructor in the source is read for its declared name (a name built as ``prefix + "suffix"`` ends in its last
string literal).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
TOPS = ("nextric", "xapps", "rapps", "policy", "testbed", "e2term")

#: unit suffixes that are not base units (or are not units Prometheus names carry at all)
NON_BASE = ("ms", "us", "ns", "millis", "micros", "milliseconds", "microseconds", "nanoseconds", "minutes", "hours",
            "days", "bps", "kbps", "mbps", "gbps", "kb", "mb", "gb", "kib", "mib", "gib", "kbytes", "mbytes",
            "percent", "pct", "dbm")
BAD_SUFFIX = re.compile(rf"_({'|'.join(NON_BASE)})$")
CONSTRUCTORS = {"Counter", "Gauge", "Histogram", "Summary", "Info", "Enum", "CounterMetricFamily",
                "GaugeMetricFamily", "HistogramMetricFamily", "SummaryMetricFamily", "InfoMetricFamily"}


def metrics_modules() -> list[str]:
    return sorted(".".join(p.relative_to(ROOT).with_suffix("").parts)
                  for top in TOPS for p in (ROOT / top).rglob("metrics.py"))


def exposition(module: str) -> Iterator[tuple[str, str]]:
    """(factory, exposition text) for each metrics class of ``module``, each on a fresh registry."""
    mod = importlib.import_module(module)
    for name, cls in inspect.getmembers(mod, inspect.isclass):
        create = getattr(cls, "create", None)
        if cls.__module__ != module or not callable(create):
            continue
        registry = CollectorRegistry()
        made = create(registry)
        watch = getattr(made, "watch_states", None)
        if callable(watch):  # families read at scrape time (the rApp's intents and plans)
            watch(lambda: (["active"], ["accepted"]))
        yield f"{module}.{name}", generate_latest(registry).decode()


def offending(text: str) -> list[str]:
    """Metric families of an exposition whose name ends in a non-base unit suffix."""
    return sorted({f.name for f in text_string_to_metric_families(text) if BAD_SUFFIX.search(f.name)})


def declared_names(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line, constructor, the declared name's last string literal) of every metric constructor in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    if not any(isinstance(n, ast.ImportFrom) and (n.module or "").startswith("prometheus_client")
               for n in ast.walk(tree)):
        return
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if func not in CONSTRUCTORS:
            continue
        literals = [n for n in ast.walk(node.args[0]) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        if literals:
            last = max(literals, key=lambda n: (n.lineno, n.col_offset))
            yield node.lineno, func, str(last.value)


def test_every_component_registry_is_covered() -> None:
    modules = metrics_modules()
    assert {"nextric.e2.metrics", "policy.metrics", "testbed.metrics", "xapps.ce_selector.metrics",
            "rapps.intent_agent.metrics"} <= set(modules)
    families = {name for m in modules for name, _ in exposition(m)}
    assert len(families) >= 9, families


@pytest.mark.parametrize("module", metrics_modules())
def test_exported_metric_names_are_in_base_units(module: str) -> None:
    for factory, text in exposition(module):
        assert text_string_to_metric_families(text), f"{factory} exports nothing"
        assert offending(text) == [], f"{factory}: metric names with a non-base unit suffix"


def test_declared_metric_names_are_in_base_units_and_counters_lack_total() -> None:
    bad = []
    for top in TOPS:
        for path in sorted((ROOT / top).rglob("*.py")):
            for line, func, name in declared_names(path):
                where = f"{path.relative_to(ROOT)}:{line} {func}({name!r})"
                if BAD_SUFFIX.search(name):
                    bad.append(f"{where}: non-base unit suffix")
                if func.startswith("Counter") and name.endswith("_total"):
                    bad.append(f"{where}: the client adds _total")
    assert bad == []


def test_the_checks_see_a_violation(tmp_path: Path) -> None:
    """Both checks can fail: planted names with unit suffixes and a counter declared with ``_total``."""
    registry = CollectorRegistry()
    Gauge("demo_delay_ms", "planted", registry=registry)
    Counter("demo_bytes_mb", "planted", registry=registry)
    Gauge("demo_delay_seconds", "fine", registry=registry)
    assert offending(generate_latest(registry).decode()) == ["demo_bytes_mb", "demo_delay_ms"]
    planted = tmp_path / "planted.py"
    planted.write_text('from prometheus_client import Counter, Gauge\np = "x_"\n'
                       'A = Gauge(p + "rate_mbps", "d")\nB = Counter("x_events_total", "d")\n')
    assert [(f, n) for _, f, n in declared_names(planted)] == [("Gauge", "rate_mbps"), ("Counter", "x_events_total")]
