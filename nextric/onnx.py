"""onnxruntime as every nextric process uses it: quiet, so that a component's stderr stays JSON lines.

onnxruntime's native logger writes ANSI-coloured plain-text lines straight to stderr, outside Python logging.
Its telemetry, set up when the extension is first imported, warns "Failed to persist telemetry device ID" wherever
``$HOME`` is read-only (a container's non-root user): ``ORT_DISABLE_TELEMETRY`` is set before that import (a
value the operator set wins). Its default logger and every session made with :func:`session_options` log errors
only; those surface as Python exceptions anyway. Import onnxruntime from here (``from nextric.onnx import ort``),
not directly, in any module that builds sessions.
"""

from __future__ import annotations

import os

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")  # read once, when the extension module loads

import onnxruntime as ort  # after the variable above, on purpose

__all__ = ["QUIET", "ort", "session_options"]

QUIET = 3  #: onnxruntime severity: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal

ort.set_default_logger_severity(QUIET)


def session_options(intra_threads: int = 1, sequential: bool = False) -> ort.SessionOptions:
    """Session options logging errors only, ``intra_threads`` intra-op threads and one inter-op thread."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = intra_threads
    so.inter_op_num_threads = 1
    if sequential:
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = QUIET
    return so
