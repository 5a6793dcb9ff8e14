"""Check the channel-estimator selector's O-RAN SC xApp descriptor (``config-file.json`` + controls
``schema.json``) the way the O-RAN SC onboarder does, with its schema (:mod:`nextric.descriptor`)::

    python -m xapps.ce_selector.descriptor [--schema PATH] [deploy/xapps/ce_selector]
"""

from __future__ import annotations

from pathlib import Path

from nextric.descriptor import main as check

DEFAULT = Path(__file__).resolve().parents[2] / "deploy" / "xapps" / "ce_selector"


def main() -> int:
    return check(default_folders=[DEFAULT])


if __name__ == "__main__":
    raise SystemExit(main())
