"""Fit the semantic layer's confidence on the development phrases and write ``semantic.json`` (reproducible:
no randomness; the corpus held-out split is never read).

    python -m rapps.intent_agent.compiler.semantic.calibrate [--precision 0.95]

Logistic regression (Newton's method, L2 1e-3) of "the best concept is the right one" on (best score, margin);
the threshold is the lowest confidence whose accepted set keeps the wanted precision on these phrases, and
never below 0.5. Leave-one-out accuracy, Brier score and expected calibration error are saved with it.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np

from rapps.intent_agent.compiler.semantic.embedder import MODEL_PACKAGE, MODEL_SHA256, Embedder
from rapps.intent_agent.compiler.semantic.matcher import CALIBRATION_PATH, Calibration, EmbeddingMatcher

ROWS_PATH = Path(__file__).with_name("calibration.json")
SLICES = ("eMBB", "URLLC", "FWA")


def features(m: EmbeddingMatcher, rows: list[list[Any]]) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) [best score, margin] and (N,) 1 when the best concept is the labelled one."""
    x, y = [], []
    for phrase, kind, label in rows:
        ranked = m.scores([phrase], (kind,))[0]
        s1, i1 = ranked[0]
        s2 = ranked[1][0] if len(ranked) > 1 else 0.0
        x.append([s1, s1 - s2])
        y.append(1.0 if label is not None and m.concepts[i1][1] == label else 0.0)
    return np.asarray(x), np.asarray(y)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, iters: int = 50) -> np.ndarray:
    """Weights (w_score, w_margin, bias) by Newton's method."""
    a = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(a.shape[1])
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-a @ w))
        g = a.T @ (p - y) + l2 * w
        h = a.T @ (a * (p * (1 - p))[:, None]) + l2 * np.eye(a.shape[1])
        step = np.linalg.solve(h, g)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return w


def _ece(p: np.ndarray, y: np.ndarray, bins: int = 5) -> float:
    edges = np.linspace(0, 1, bins + 1)
    e = 0.0
    for lo, hi in itertools.pairwise(edges):
        sel = (p >= lo) & (p < hi if hi < 1 else p <= hi)
        if sel.any():
            e += sel.mean() * abs(p[sel].mean() - y[sel].mean())
    return float(e)


def calibrate(precision: float = 0.95) -> dict[str, Any]:
    rows = json.loads(ROWS_PATH.read_text(encoding="utf-8"))["rows"]
    m = EmbeddingMatcher(Embedder(), Calibration(0, 0, 0, 1), SLICES)
    x, y = features(m, rows)
    w = fit_logistic(x, y)
    a = np.hstack([x, np.ones((len(x), 1))])
    p = 1.0 / (1.0 + np.exp(-a @ w))
    loo = []
    for i in range(len(x)):  # leave-one-out: the confidence each phrase gets from a fit without it
        keep = np.arange(len(x)) != i
        wi = fit_logistic(x[keep], y[keep])
        loo.append(1.0 / (1.0 + np.exp(-a[i] @ wi)))
    p_loo = np.asarray(loo)
    threshold = 0.5
    for t in sorted(set(np.round(p_loo, 4))):
        acc = p_loo >= t
        if t >= 0.5 and acc.any() and y[acc].mean() >= precision:
            threshold = float(t)
            break
    acc = p_loo >= threshold
    out = {
        "model": {"package": MODEL_PACKAGE, "sha256": MODEL_SHA256, "name": "all-MiniLM-L6-v2 (int8 ONNX)"},
        "calibration": {"w_score": round(float(w[0]), 6), "w_margin": round(float(w[1]), 6),
                        "bias": round(float(w[2]), 6), "threshold": round(threshold, 4)},
        "evaluation": {"phrases": len(rows), "positives": int(y.sum()),
                       "loo_precision_at_threshold": round(float(y[acc].mean()) if acc.any() else 0.0, 4),
                       "loo_recall_at_threshold": round(float((acc & (y == 1)).sum() / max(1, y.sum())), 4),
                       "loo_brier": round(float(np.mean((p_loo - y) ** 2)), 4),
                       "loo_ece_5_bins": round(_ece(p_loo, y), 4),
                       "fit_brier": round(float(np.mean((p - y) ** 2)), 4)},
    }
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--precision", type=float, default=0.95)
    ap.add_argument("--out", type=Path, default=CALIBRATION_PATH)
    args = ap.parse_args(argv)
    out = calibrate(args.precision)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
