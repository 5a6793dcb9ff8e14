"""The committed generated code must match what the pinned generators make from proto/ today."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _gen_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_proto", ROOT / "tools" / "gen_proto.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools")
    gen = _gen_module()
    generated = gen.generate(tmp_path)
    assert generated, "no proto files found"
    stale = [str(rel) for rel in generated if (tmp_path / rel).read_bytes() != (ROOT / rel).read_bytes()]
    assert not stale, f"generated code is stale, run `make proto`: {stale}"


def test_no_orphan_generated_modules() -> None:
    gen = _gen_module()
    expected = {p.relative_to(gen.PROTO_ROOT).with_suffix("").as_posix() for p in gen.proto_files()}
    committed = {p.relative_to(ROOT).as_posix().removesuffix("_pb2.py") for p in (ROOT / "nextric").rglob("*_pb2.py")}
    assert committed == expected
