"""The ``nextric`` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="nextric",
    help="nextric: an O-RAN near-RT RIC xApp/rApp suite with an emulated multi-cell gNB testbed.",
    no_args_is_help=True,
    add_completion=False,
)
bench_app = typer.Typer(help="Benchmarks: print a table and save JSON under bench/results/.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@app.command()
def demo(
    seconds: Annotated[float, typer.Option(help="simulated seconds to run the closed loop")] = 60.0,
    seed: Annotated[int, typer.Option(help="seed of every random stream")] = 7,
    out: Annotated[Path, typer.Option(help="folder for the report")] = Path("reports/demo"),
) -> None:
    """Run the closed-loop demo on embedded defaults and print what happened.

    Starts the emulated gNB testbed as an E2 node server on a free loopback port, connects a monitoring
    xApp over E2 that subscribes to KPM reports and answers with slice PRB quota controls, and ends with
    a before/after KPI table per slice.
    """
    from suite.demo import run_demo

    raise typer.Exit(run_demo(seconds=seconds, seed=seed, out=out))


@bench_app.command("e2")
def bench_e2(
    duration: Annotated[float, typer.Option(help="seconds per measurement")] = 3.0,
    repeats: Annotated[int, typer.Option(help="alternating E2/echo throughput runs (median reported)")] = 3,
) -> None:
    """E2 loop: indication -> control -> ack latency and throughput for 1, 10, 100 cells vs raw grpcio echo."""
    from bench import e2_loop

    e2_loop.print_table(e2_loop.run(duration_s=duration, repeats=repeats))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
