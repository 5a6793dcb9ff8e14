"""Check the slice scheduler's O-RAN SC xApp descriptor (``config-file.json`` + controls ``schema.json``) the way
the O-RAN SC onboarder does, with its schema (:mod:`nextric.descriptor`)::

    python -m xapps.slice_scheduler.descriptor [--schema PATH] [deploy/xapps/slice_scheduler]
"""

from __future__ import annotations

from pathlib import Path

from nextric.descriptor import main as check

DEFAULT = Path(__file__).resolve().parents[2] / "deploy" / "xapps" / "slice_scheduler"


def main() -> int:
    return check(default_folders=[DEFAULT])


if __name__ == "__main__":
    raise SystemExit(main())
