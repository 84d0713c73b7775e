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
@click.option("--host", help="Address to listen on.  [default: 127.0.0.1]")
@click.option("--port", type=int, help="Port to listen on.  [default: 8080]")
@click.option("--workers", type=int, help="Worker processes.  [default: 1]")
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite file that keeps the state across restarts.  [default: a temporary file]",
)
@click.option(
    "--no-auth",
    is_flag=True,
    default=None,
    envvar="CAPKIT_NO_AUTH",
    help="Accept requests without credentials.",
)
@click.option(
    "--auth", metavar="TILL:PASSWORD", help="Accept only this till (md5 of its password)."
)
@click.option("--token", help="Accept only this X-CAP-API-OAUTH-TOKEN (with --auth: too).")
@click.option("--lenient", is_flag=True, default=None, help="Accept undeclared query parameters.")
@click.option(
    "--max-body", type=int, metavar="BYTES", help="Largest request body.  [default: 1 MB]"
)
@click.option(
    "--spec",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Serve another OpenAPI document.",
)
def serve(**flags: object) -> None:
    """Run the mock of the Capillary v2 API on a production server (granian).

    Every flag may also come from a CAPKIT_* variable (CAPKIT_PORT, CAPKIT_NO_AUTH...).
    """
    from mockserver import MissingHandler
    from mockserver.server import serve as run
    from mockserver.settings import Settings, SettingsError

    no_auth = flags.pop("no_auth")
    flags["auth_required"] = False if no_auth else None
    try:
        run(Settings.load(flags))
    except (SettingsError, spec.SpecUnreadable, MissingHandler) as error:
        raise click.UsageError(str(error)) from None


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
