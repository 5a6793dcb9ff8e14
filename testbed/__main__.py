"""``python -m testbed ...`` (see :mod:`testbed.cli`)."""

from testbed.cli import main

raise SystemExit(main())
