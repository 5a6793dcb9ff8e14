"""The ``nextric`` command line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

if TYPE_CHECKING:
    from nextric.e2ap.transport import Transport

app = typer.Typer(
    name="nextric",
    help="nextric: an O-RAN near-RT RIC xApp/rApp suite with an emulated multi-cell gNB testbed.",
    no_args_is_help=True,
    add_completion=False,
)
bench_app = typer.Typer(help="Benchmarks: print a table and save JSON under bench/results/.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
train_app = typer.Typer(
    help="Train a model (needs the train extra: torch, onnx), export it to ONNX and write its data card.",
    no_args_is_help=True,
)
app.add_typer(train_app, name="train")


@app.command()
def demo(
    seconds: Annotated[float, typer.Option(help="simulated seconds to run each leg")] = 420.0,
    seed: Annotated[int, typer.Option(help="seed of every random stream")] = 7,
    out: Annotated[Path, typer.Option(help="folder for the report")] = Path("reports/demo"),
    e2ap: Annotated[bool, typer.Option("--e2ap", help="the xApps and the rApp reach the emulated gNBs through the "
                                       "E2 termination bridge (E2AP) instead of the testbed's gRPC E2")] = False,
    e2ap_transport: Annotated[str, typer.Option(help="with --e2ap: auto (SCTP where the kernel has it), sctp or "
                                                "tcp (length-prefixed framing)")] = "auto",
) -> None:
    """Run the whole suite on embedded defaults with an operator intent and print what happened.

    Starts the testbed (E2, transport controller, twin), the policy service, the xApps and the intent agent
    rApp on free loopback ports, submits the hospital-zone intent, approves its plan over the API, and ends
    with a before/after KPI table per slice, the plan and its explanation, the intent report and the audit.
    With --e2ap every emulated cell's gNB connects to an E2 termination bridge over E2AP and the slice scheduler
    and the rApp use the bridge: the same closed loop, the same numbers.
    """
    from suite.demo import run_demo

    if e2ap_transport not in ("auto", "sctp", "tcp"):
        raise typer.BadParameter("must be auto, sctp or tcp", param_hint="--e2ap-transport")
    transport = cast(Transport, e2ap_transport) if e2ap else None
    raise typer.Exit(run_demo(seconds=seconds, seed=seed, out=out, e2ap=transport))


@app.command("testbed")
def run_testbed(
    scenario: Annotated[str | None, typer.Option(help="bundled scenario name or scenario YAML path")] = None,
    shocks: Annotated[str | None, typer.Option(help="hotspot|wave|both|none, -ID or -OOD")] = None,
    seed: Annotated[int | None, typer.Option(help="seed of the emulator's random streams")] = None,
    speedup: Annotated[float | None, typer.Option(help="x real time; 0 = as fast as possible")] = None,
    steps: Annotated[int | None, typer.Option(help="fast sub-steps to run, then exit")] = None,
    e2ap: Annotated[str | None, typer.Option(help="HOST:PORT of a RIC's E2 termination: every node connects there "
                                            "over E2AP as an srsRAN gNB would")] = None,
) -> None:
    """Run the emulated gNB testbed: an E2 node per cell, the transport controller, health and metrics.

    Settings come from NEXTRIC_TESTBED_* environment variables (e.g. NEXTRIC_TESTBED_E2__PORT); options given
    here override them. Prints the bound ports as one JSON line.
    """
    import asyncio

    from nextric.obs.logging import configure_logging
    from testbed.serve import serve
    from testbed.settings import TestbedSettings

    given = {"scenario": scenario, "shocks": shocks, "seed": seed, "speedup": speedup, "steps": steps, "e2ap": e2ap}
    settings = TestbedSettings().model_copy(update={k: v for k, v in given.items() if v is not None})
    settings = TestbedSettings.model_validate(settings.model_dump())  # re-validate the overrides
    configure_logging("testbed", settings.log.level, settings.log.json_lines)
    asyncio.run(serve(settings))


@app.command()
def plots(
    out: Annotated[Path, typer.Option(help="folder for the PNGs")] = Path("reports/plots"),
    scenario: Annotated[str, typer.Option(help="bundled scenario name or scenario YAML path")] = "twm_poc",
    shocks: Annotated[str, typer.Option(help="hotspot|wave|both|none, -ID or -OOD")] = "hotspot-ID",
    seed: Annotated[int, typer.Option(help="seed of the emulator")] = 0,
) -> None:
    """Draw the city (cells, zones, transport graph) and a KPI time series of one run as PNGs."""
    from testbed.plots import plot_city

    for path in plot_city(out, scenario, shocks, seed):
        typer.echo(str(path))


@bench_app.command("e2")
def bench_e2(
    duration: Annotated[float, typer.Option(help="seconds per measurement")] = 3.0,
    repeats: Annotated[int, typer.Option(help="alternating E2/echo windows per measurement, paced and lock-step "
                                         "(>= 3; median and spread reported)")] = 3,
) -> None:
    """E2 loop: indication -> control -> ack latency and throughput for 1, 10, 100 cells vs raw grpcio echo."""
    from bench import e2_loop

    e2_loop.print_table(e2_loop.run(duration_s=duration, repeats=repeats))


# name -> (module with main(argv), what it measures); each module saves JSON under bench/results/
ARGPARSE_BENCHES = {
    "testbed": ("bench.testbed_speed", "testbed speed (x real time) against the previous commit side by side, "
                "10 to 10,000 cells, twin rollouts/s"),
    "guardrail": ("bench.guardrail", "guardrail check latency in-process and over HTTP"),
    "slicing": ("bench.slicing_xapp", "slice scheduler xApp vs uniform on the PoC scenarios"),
    "slicing-scale": ("bench.slicing_scale", "slice scheduler 1 vs 3 replicas: processes, gRPC E2, Redis, 300 cells"),
    "twin-sweep": ("bench.twin_sweep", "twin sweep serial vs Ray (2 workers): speedup, identical results"),
    "kernel-ulp": ("bench.kernel_ulp", "compiled (numba) testbed kernels vs numpy, bit for bit: the ceiling of "
                   "fused kernels under the bit-identical rule (needs numba in a scratch environment)"),
    "beam-ceiling": ("bench.beam_ceiling", "beam predictor ceilings: BM-Case1 information/capacity, BM-Case2 genie "
                     "past per report period"),
    "calibration": ("bench.calibration", "the PoC city against its calibration rules (tuning seeds)"),
    "beam": ("bench.beam", "beam predictor (Set B 8 -> Set A 32) vs best-in-Set-B and last serving beam"),
    "beam-ahead": ("bench.beam_ahead", "BM-Case2: best beam 1-2 report periods ahead vs last best beam and a "
                   "Kalman angle tracker, per UE speed"),
    "ce": ("bench.ce", "channel-estimator selector: LS / LMMSE / neural NMSE over a TDL grid, choice vs oracle"),
    "twm": ("bench.twm_poc", "TWM PoC: uniform, DT-FAIR, FWM/CDWM-only, WM-free, TWM and improved planner (--quick)"),
    "e2ap": ("bench.e2ap_codec", "E2AP/E2SM-KPM codec: RIC Indications/s per core (KPM format 3, 10 UEs) vs protobuf"),
    "twm-oracle": ("bench.twm_oracle", "TWM PoC reference levels: hindsight best, adaptive hindsight and a perfect "
                   "twin's choice over the library per horizon vs planners"),
    "twm-portfolio": ("bench.twm_portfolio", "fit the improved planner's plan portfolio on tuning horizons (writes it "
                      "and its card next to the world models)"),
    "intents": ("bench.intents", "intent compiler corpus: accuracy per category, silent drops, compile p99"),
    "fuzz": ("bench.fuzz", "schemathesis on both HTTP APIs, hypothesis on the compiler and guardrail, mutated "
             "protobuf on every gRPC method: 5xx, crashes, non-finite stored (--quick)"),
    "twin-fidelity": ("bench.twin_fidelity", "closed-loop twin vs closed-loop emulator per plan (and the open-loop "
                      "twin): errors, 90 % coverage, rank correlation"),
}


# name -> (module with main(argv) or module:function, what it trains); each writes its ONNX artefact and model
# card next to the app
TRAINERS: dict[str, tuple[str, str]] = {
    "beam": ("suite.trainers.beam", "beam predictor MLP (BM-Case1) -> xapps/beam_predictor/model"),
    "beam-ahead": ("suite.trainers.beam_ahead", "BM-Case2 beam predictor MLP (1-2 report periods ahead) -> "
                   "xapps/beam_predictor/model_ahead"),
    "ce": ("suite.trainers.ce", "neural channel estimator (gated linear experts) -> xapps/ce_selector/model"),
    "fwm": ("suite.trainers.worldmodels:fwm", "intent agent Field World Model (CNN, ONNX + card)"),
    "cdwm": ("suite.trainers.worldmodels:cdwm", "intent agent Control/Dynamics World Model (RSSM ensemble)"),
}


def _run_argparse_bench(module_name: str, argv: list[str]) -> None:
    """Call ``main(argv)`` of ``module``, or ``function(argv)`` for ``module:function``."""
    import importlib

    name, _, func = module_name.partition(":")
    getattr(importlib.import_module(name), func or "main")(argv)


def _register_argparse_bench(name: str, module_name: str, summary: str) -> None:
    @bench_app.command(
        name,
        help=f"{summary}. Options are passed on (see --help of python -m {module_name}).",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    def command(ctx: typer.Context) -> None:
        _run_argparse_bench(module_name, list(ctx.args))


for _name, (_module, _summary) in ARGPARSE_BENCHES.items():
    _register_argparse_bench(_name, _module, _summary)


def _register_trainer(name: str, module_name: str, summary: str) -> None:
    mod, _, func = module_name.partition(":")

    @train_app.command(
        name,
        help=f"{summary}. Options are passed on (see --help of python -m {mod}{' ' + func if func else ''}).",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    def command(ctx: typer.Context) -> None:
        _run_argparse_bench(module_name, list(ctx.args))


for _name, (_module, _summary) in TRAINERS.items():
    _register_trainer(_name, _module, _summary)


@bench_app.command("all")
def bench_all() -> None:
    """Every benchmark with its defaults (several minutes on a 2-core machine)."""
    from bench import e2_loop

    e2_loop.print_table(e2_loop.run())
    for module_name, _summary in ARGPARSE_BENCHES.values():
        _run_argparse_bench(module_name, [])


def main() -> None:
    app()


if __name__ == "__main__":
    main()
