"""checkov (3.3.30, its own environment: `make checkov`) on everything that deploys: the Dockerfiles, the chart as the
Helm library renders it (defaults, and each optional profile on) and every kustomize overlay as ``kubectl kustomize``
renders it. Every finding must be listed, with its reason, in deploy/checkov-skips.yaml (which docs/deploy.md
lists); a listed skip that no longer matches anything is an error too, so the list stays true."""

from __future__ import annotations

import fnmatch
import functools
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.common import ROOT
from tests.deploy.test_kubernetes import OVERLAYS, PROFILES, SECRETS, helm_render, render, with_components

SKIPS = ROOT / "deploy" / "checkov-skips.yaml"
CHECKOV_VERSION = "3.3.30"


def _checkov() -> str:
    exe = os.environ.get("NEXTRIC_CHECKOV") or str(ROOT / ".venv-checkov" / "bin" / "checkov")
    assert Path(exe).is_file(), f"checkov missing ({exe}): `make checkov` installs it into .venv-checkov"
    return exe


def _dump(path: Path, docs: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))


def write_targets(out: Path) -> None:
    """What checkov scans, laid out as ``docker/*.Dockerfile``, ``osc/Dockerfile``, ``helm/<values>.yaml`` and
    ``kustomize/<overlay>.yaml`` (the names the skip file's ``where`` patterns use)."""
    for path in sorted((ROOT / "deploy" / "docker").glob("*.Dockerfile")):
        (out / "docker").mkdir(parents=True, exist_ok=True)
        shutil.copy(path, out / "docker" / path.name)
    (out / "osc").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "deploy" / "osc" / "Dockerfile", out / "osc" / "Dockerfile")
    _dump(out / "helm" / "default.yaml", helm_render(SECRETS))
    for profile in PROFILES:
        _dump(out / "helm" / f"{profile}.yaml", helm_render(with_components(SECRETS, profile)))
    for overlay in OVERLAYS:
        _dump(out / "kustomize" / f"{overlay}.yaml", render(ROOT / "deploy" / "k8s" / "overlays" / overlay))


@functools.cache
def findings() -> tuple[tuple[str, str, str], ...]:
    """(check id, file under the scan root, resource) of every failed check."""
    exe = _checkov()
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert version == CHECKOV_VERSION, f"checkov {version}, expected {CHECKOV_VERSION} (make checkov)"
    with tempfile.TemporaryDirectory() as tmp:
        write_targets(Path(tmp))
        out = subprocess.run([exe, "-d", tmp, "--framework", "dockerfile", "kubernetes", "--quiet", "--compact",
                              "--skip-download", "-o", "json"], capture_output=True, text=True, check=False)
    assert out.returncode in (0, 1), out.stderr[-3000:]
    reports = json.loads(out.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    return tuple(sorted({(f["check_id"], f["file_path"], f["resource"])
                         for r in reports for f in r["results"]["failed_checks"]}))


def load_skips() -> list[dict[str, Any]]:
    skips: list[dict[str, Any]] = yaml.safe_load(SKIPS.read_text())["skips"]
    return skips


def matches(skip: dict[str, Any], finding: tuple[str, str, str]) -> bool:
    check, where, resource = finding
    return (skip["check"] == check and any(fnmatch.fnmatchcase(where, w) for w in skip["where"])
            and any(fnmatch.fnmatchcase(resource, r) for r in skip.get("resources", ["*"])))


def test_skip_file_is_well_formed_and_documented() -> None:
    docs = (ROOT / "docs" / "deploy.md").read_text()
    for skip in load_skips():
        assert set(skip) <= {"check", "where", "resources", "why", "fix"}, skip
        assert skip["check"].startswith("CKV"), skip
        assert skip["where"], skip
        assert len(skip["why"]) > 40, f"{skip['check']}: say why"
        assert f"`{skip['check']}`" in docs, f"docs/deploy.md does not list the skipped {skip['check']}"


@pytest.mark.slow
def test_checkov_findings_are_all_justified() -> None:
    found = findings()
    assert found, "checkov found nothing at all: is it scanning the rendered files?"
    skips = load_skips()
    unjustified = [f for f in found if not any(matches(s, f) for s in skips)]
    assert not unjustified, "checkov findings not in deploy/checkov-skips.yaml (fix them, or justify them there " \
                            "and in docs/deploy.md):\n" + "\n".join(map(str, unjustified))
    stale = [s["check"] + " " + str(s["where"]) for s in skips if not any(matches(s, f) for f in found)]
    assert not stale, f"skips that match no finding any more (remove them): {stale}"
