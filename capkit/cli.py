"""The `capkit` command: one entry point for the mock and the contract tools."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from capkit import spec

# Exit codes shared by every subcommand.
OK, CONTRACT_BROKEN, UNUSABLE = 0, 1, 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="capkit")
def main() -> None:
    """A stateful mock and contract tests for the Capillary loyalty v2 API."""


@main.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
def lint(path: Path | None) -> None:
    """Validate an OpenAPI document (default: the bundled spec) and every example in it.

    Prints each problem with its JSON pointer; exits 0 when clean, 1 on any problem,
    2 when the file cannot be read.
    """
    from contracts.lint import lint_document

    try:
        document = spec.load(path)
    except spec.SpecUnreadable as error:
        click.echo(f"capkit lint: {error}", err=True)
        sys.exit(UNUSABLE)
    problems = lint_document(document)
    for problem in problems:
        click.echo(str(problem))
    name = path if path is not None else "the bundled spec"
    if problems:
        click.echo(f"{name}: {len(problems)} problem(s)", err=True)
        sys.exit(CONTRACT_BROKEN)
    click.echo(f"{name}: no problems", err=True)
