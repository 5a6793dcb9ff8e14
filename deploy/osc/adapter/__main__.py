"""``python -m adapter``: run the O-RAN SC bridge (settings from NEXTRIC_OSC_*, platform variables from OSC)."""

from __future__ import annotations

import logging
import sys

from adapter.app import build
from adapter.settings import AdapterSettings, SettingsError


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        settings = AdapterSettings.from_env()
    except SettingsError as exc:
        print(f"nextric-osc-adapter: {exc}", file=sys.stderr)
        return 2
    build(settings).run()  # blocks: RMR dispatch loop; App Manager registration runs in the framework's thread
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
