"""Paths and the component list shared by the deploy tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S_VERSION = "1.30.0"  #: the Kubernetes version every rendered manifest is validated against (pinned)


def components() -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = yaml.safe_load((ROOT / "deploy" / "components.yaml").read_text())["components"]
    return data
