"""The ``nextric`` command explains itself."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from suite.cli import app


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "bench", "testbed", "plots"):
        assert command in result.output


def test_bench_help_explains_e2() -> None:
    result = CliRunner().invoke(app, ["bench", "--help"])
    assert result.exit_code == 0
    assert "e2" in result.output


def test_unknown_command_fails_clearly() -> None:
    result = CliRunner().invoke(app, ["fly"])
    assert result.exit_code != 0
    assert "No such command" in result.output


def test_plots_writes_the_city_map(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["plots", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    pngs = sorted(tmp_path.glob("*.png"))
    assert len(pngs) == 2
    assert all(p.stat().st_size > 10_000 for p in pngs)
