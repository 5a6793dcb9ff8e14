"""Structured logging: one JSON object per line, with the app name and any ``extra=`` fields.

The lines are written by python-json-logger; the fields are nextric's own: ``ts`` (Unix time, s), ``level``
(lower case), ``app``, ``logger``, ``msg``, then every ``extra=`` field, and ``exc`` / ``stack`` when the record
carries an exception or a stack. Python warnings (logger ``py.warnings``) and uncaught exceptions (logger
``nextric.uncaught``) are logged too, never printed bare; uvicorn's ``color_message`` (its message with ANSI
colour codes) is left out.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from types import TracebackType
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

#: ``extra=`` fields never written: uvicorn passes its message again with ANSI colour codes
DROPPED = ("color_message",)


class JsonFormatter(_LibraryJsonFormatter):
    """python-json-logger's formatter with nextric's field names and the app name on every line."""

    def __init__(self, app: str) -> None:
        super().__init__(
            ("created", "levelname", "name", "message"),
            rename_fields={"created": "ts", "levelname": "level", "name": "logger", "message": "msg",
                           "exc_info": "exc", "stack_info": "stack"},
            static_fields={"app": app},
            reserved_attrs=[*RESERVED_ATTRS, *DROPPED],
            json_default=str,
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        log_data["ts"] = round(float(log_data["ts"]), 6)
        log_data["level"] = str(log_data["level"]).lower()
        return log_data


def configure_logging(app: str, level: str = "INFO", json_lines: bool = True) -> None:
    """Configure the root logger once per process (called from a process entry point, never on import)."""
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter(app))
    else:
        fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        fmt.converter = time.gmtime
        handler.setFormatter(fmt)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # warnings.warn -> logger "py.warnings", not a bare line on stderr
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
    logging.getLogger("httpx").setLevel(max(root.level, logging.WARNING))  # one line per request: noise at INFO


def _log_uncaught(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    """The last words of a process, as a log line (Python still exits with status 1 afterwards)."""
    log = logging.getLogger("nextric.uncaught")
    if issubclass(kind, KeyboardInterrupt):
        log.info("interrupted")
    else:
        log.critical("uncaught %s: %s", kind.__name__, value, exc_info=(kind, value, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None and not issubclass(args.exc_type, SystemExit):
        logging.getLogger("nextric.uncaught").critical(
            "uncaught %s in thread %s: %s", args.exc_type.__name__, args.thread.name if args.thread else "?",
            args.exc_value, exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
