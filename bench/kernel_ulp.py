"""Ceiling of compiled testbed kernels under the bit-identical rule: does numba reproduce numpy's transcendentals?

The default city's step is bound by Python call overhead (~330 calls, each a small numpy operation), not by its
arithmetic; the way past it is fusing the per-step radio kernels into compiled loops (numba). The seeded results
of every committed benchmark must then stay bit-identical, which holds only if the compiled loop computes every
operation of the step to the same bits as numpy. This measures that, per operation the radio step uses, on the
value ranges the testbed feeds it: the share of inputs where the numba result equals numpy's bit for bit, and
the largest relative difference. Any share below 1 changes the golden fingerprints
(``tests/testbed/golden_testbed.json``), so the kernels would need a documented RNG/float change and every
committed result re-run.

Needs numba, which the project does not depend on (``pip install numba==0.68.1`` in a scratch environment):

    python -m bench.kernel_ulp [--n 1000000] [--seed 0]     # -> bench/results/kernel_ulp.json
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np
from rich.console import Console

from bench.common import RESULTS_DIR, machine, save_results

Kernel = Callable[[np.ndarray, np.ndarray], np.ndarray]


NEEDS = "bench.kernel_ulp needs numba: pip install numba==0.68.1 (in a scratch environment)"


def _kernels() -> dict[str, tuple[Kernel, Kernel]]:
    """(numba loop, numpy expression) per operation of the radio step (``testbed/core/radio.py``)."""
    import numba

    def loop(op: Callable[[float, float], float]) -> Kernel:
        scalar = numba.njit(op)

        def run(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            out = np.empty_like(a)
            for i in range(a.size):
                out[i] = scalar(a[i], b[i])
            return out

        compiled: Kernel = numba.njit(run)
        return compiled

    return {
        "log10 (path loss, dB)": (loop(lambda a, b: np.log10(a)), lambda a, b: np.log10(a)),
        "10**(x/10) (dB to linear)": (loop(lambda a, b: 10.0 ** (b / 10.0)), lambda a, b: 10.0 ** (b / 10.0)),
        "exp (decorrelation)": (loop(lambda a, b: np.exp(-a / 50.0)), lambda a, b: np.exp(-a / 50.0)),
        "arctan2 (azimuth)": (loop(lambda a, b: np.arctan2(b, a)), lambda a, b: np.arctan2(b, a)),
        "cos (heading)": (loop(lambda a, b: np.cos(b)), lambda a, b: np.cos(b)),
        "sqrt (distance)": (loop(lambda a, b: np.sqrt(a * a + b * b)), lambda a, b: np.sqrt(a * a + b * b)),
        "multiply-add (AR(1))": (loop(lambda a, b: 0.9 * a + 0.43 * b), lambda a, b: 0.9 * a + 0.43 * b),
    }


def run(n: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    a = rng.uniform(1.0, 5000.0, n)  # distances in metres
    b = rng.uniform(-150.0, 50.0, n)  # levels in dB, angles' numerators
    out: dict[str, Any] = {}
    for name, (compiled, reference) in _kernels().items():
        got, want = compiled(a, b), reference(a, b)
        same = got == want
        rel = np.abs(got - want) / np.maximum(np.abs(want), np.finfo(np.float64).tiny)
        out[name] = {"bit_identical_share": float(same.mean()), "max_rel_diff": float(rel.max()),
                     "differing": int((~same).sum())}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    console = Console()
    try:  # not a project dependency: this measures whether it could become one
        import numba
    except ImportError:
        console.print(f"skipped: {NEEDS}; the committed bench/results/kernel_ulp.json stays")
        return 0
    ops = run(args.n, args.seed)

    for name, r in ops.items():
        console.print(f"{name:28s} bit-identical {r['bit_identical_share']:.4%}  max rel diff {r['max_rel_diff']:.2e}")
    broken = [k for k, r in ops.items() if r["bit_identical_share"] < 1.0]
    payload = {"bench": "kernel_ulp", "command": f"python -m bench.kernel_ulp --n {args.n} --seed {args.seed}",
               "machine": machine(), "numpy": np.__version__, "numba": numba.__version__, "inputs": args.n,
               "operations": ops, "not_bit_identical": broken,
               "verdict": "compiled kernels change the seeded results" if broken else "compiled kernels can keep them"}
    console.print(payload["verdict"] + (f": {', '.join(broken)}" if broken else ""))
    console.print(f"saved {save_results('kernel_ulp', payload, RESULTS_DIR)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
