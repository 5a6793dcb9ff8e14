"""Check the channel-estimator selector's O-RAN SC xApp descriptor (``config-file.json`` + controls ``schema.json``).

    python -m xapps.ce_selector.descriptor deploy/xapps/ce_selector
"""

from __future__ import annotations

import sys
from pathlib import Path

from nextric.descriptor import validate

DEFAULT = Path(__file__).resolve().parents[2] / "deploy" / "xapps" / "ce_selector"


def main() -> int:
    problems = validate(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
