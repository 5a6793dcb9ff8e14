"""The ``nextric`` command explains itself."""

from __future__ import annotations

from typer.testing import CliRunner

from suite.cli import app


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "bench"):
        assert command in result.output


def test_bench_help_explains_e2() -> None:
    result = CliRunner().invoke(app, ["bench", "--help"])
    assert result.exit_code == 0
    assert "e2" in result.output


def test_unknown_command_fails_clearly() -> None:
    result = CliRunner().invoke(app, ["fly"])
    assert result.exit_code != 0
    assert "No such command" in result.output
