"""Check the beam predictor's O-RAN SC xApp descriptor (``config-file.json`` + controls ``schema.json``) the way
the O-RAN SC onboarder does, with its schema (:mod:`nextric.descriptor`)::

    python -m xapps.beam_predictor.descriptor [--schema PATH] [deploy/xapps/beam_predictor]
"""

from __future__ import annotations

from pathlib import Path

from nextric.descriptor import main as check

DEFAULT = Path(__file__).resolve().parents[2] / "deploy" / "xapps" / "beam_predictor"


def main() -> int:
    return check(default_folders=[DEFAULT])


if __name__ == "__main__":
    raise SystemExit(main())
