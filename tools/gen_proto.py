"""Generate the Python code for every .proto under proto/ (protoc from grpcio-tools, stubs from mypy-protobuf).

Usage: ``python tools/gen_proto.py [--out DIR]`` (default: the repository root, so that package
``nextric.e2.v1`` lands in ``nextric/e2/v1/``). The generator versions are pinned in pyproject.toml's
``dev`` extra, so the output is byte-for-byte reproducible; ``tests/test_proto_generated.py`` regenerates
into a temporary folder and fails when the committed code is stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"


def proto_files() -> list[Path]:
    return sorted(PROTO_ROOT.rglob("*.proto"))


def generate(out: Path) -> list[Path]:
    """Run protoc over every proto file; returns the generated files (relative to ``out``)."""
    import grpc_tools
    from grpc_tools import protoc

    out.mkdir(parents=True, exist_ok=True)
    include = Path(grpc_tools.__file__).parent / "_proto"
    files = [str(p.relative_to(PROTO_ROOT)) for p in proto_files()]
    bindir = Path(sys.executable).parent
    args = [
        "protoc",
        f"--plugin=protoc-gen-mypy={bindir / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={bindir / 'protoc-gen-mypy_grpc'}",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        *files,
    ]
    rc = protoc.main(args)
    if rc != 0:
        raise SystemExit(f"protoc failed with exit code {rc}")
    generated = [
        Path(name).with_name(Path(name).stem + suffix)
        for name in files
        for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")
    ]
    # Every folder on the way needs an __init__.py so the packages import (and type-check) normally.
    for rel in generated:
        for parent in rel.parents:
            if parent == Path("."):
                continue
            init = out / parent / "__init__.py"
            if not init.exists():
                init.write_text("")
    return generated


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    for rel in generate(args.out):
        print(rel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
