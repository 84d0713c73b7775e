"""The `capkit` command: one entry point for the mock and the contract tools."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click
from click.core import ParameterSource

import spec

# Exit codes shared by every subcommand.
OK, CONTRACT_BROKEN, UNUSABLE = 0, 1, 2


class _Option(click.Option):
    """An option that click reads from a CAPKIT_* variable itself (one that is no Setting): a
    value it cannot take is refused naming the flag and the variable, as Settings refuses
    theirs (`--no-auth must be true or false, got 'maybe' from CAPKIT_NO_AUTH`)."""

    def process_value(self, ctx: click.Context, value: Any) -> Any:
        try:
            return super().process_value(ctx, value)
        except click.BadParameter:
            if ctx.get_parameter_source(str(self.name)) is not ParameterSource.ENVIRONMENT:
                raise
            expected = (
                f"one of {', '.join(self.type.choices)}"
                if isinstance(self.type, click.Choice)
                else "true or false"
            )
            flag = max(self.opts, key=len)
            raise click.UsageError(
                f"{flag} must be {expected}, got {value!r} from {self.envvar}"
            ) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="capkit")
def main() -> None:
    """A stateful mock and contract tests for the Capillary loyalty v2 API."""


@main.command()
@click.option("--host", help="Address to listen on.  [default: 127.0.0.1]")
@click.option("--port", type=int, help="Port to listen on; 0 picks a free one.  [default: 8080]")
@click.option("--workers", type=int, help="Worker processes.  [default: 1]")
@click.option(
    "--state",
    metavar="PATH|URL",
    help="SQLite file that keeps the state across restarts, or a postgresql://USER:PASSWORD@"
    "HOST:PORT/DB that replicas on several hosts share.  [default: a temporary file]",
)
@click.option(
    "--db-pool",
    type=int,
    metavar="N",
    help="With PostgreSQL: connections each worker keeps for writing the customers (a worker"
    " writes one request at a time; reads go together on one connection of their own)."
    "  [default: 1]",
)
@click.option(
    "--no-auth",
    is_flag=True,
    default=None,
    envvar="CAPKIT_NO_AUTH",
    cls=_Option,
    help="Accept requests without credentials.",
)
@click.option(
    "--auth", metavar="TILL:PASSWORD", help="Accept only this till (md5 of its password)."
)
@click.option("--token", help="Accept only this X-CAP-API-OAUTH-TOKEN (with --auth: too).")
@click.option(
    "--admin-token",
    metavar="TOKEN",
    help="Require 'Authorization: Bearer TOKEN' of every /__admin request that changes"
    " something (reset, clearing the journal, a seed, chaos).",
)
@click.option(
    "--allowed-host",
    multiple=True,
    metavar="NAME",
    help="Answer /__admin requests whose Host is NAME too, beside IP addresses, localhost and"
    " --host: a name a proxy or balancer passes on; * for any (repeatable). Pages at NAME"
    " (an address too) may send them where the Host differs.",
)
@click.option("--lenient", is_flag=True, default=None, help="Accept undeclared query parameters.")
@click.option(
    "--max-body", type=int, metavar="BYTES", help="Largest request body.  [default: 1 MB]"
)
@click.option(
    "--spec",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Serve another OpenAPI document (it must pass capkit lint).",
)
@click.option(
    "--seed",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Start from the documented customers and those of this seed file, JSON or YAML"
    " (repeatable; GET /__admin/seed writes one).",
)
@click.option(
    "--no-documented-seed",
    is_flag=True,
    default=None,
    envvar="CAPKIT_NO_DOCUMENTED_SEED",
    cls=_Option,
    help="Start from the seed files' customers alone.",
)
@click.option(
    "--latency",
    multiple=True,
    metavar="WAIT",
    help="Answer requests late: 300ms, 100ms-2s (uniform within), or getCustomer=1s for one"
    " operation (repeatable).",
)
@click.option(
    "--faults",
    type=float,
    metavar="FRACTION",
    help="Meet this fraction of requests with a fault (0.05: one in twenty).",
)
@click.option(
    "--fault-kinds",
    metavar="KINDS",
    help="The faults to meet them with, of reset, empty, timeout, lost, 500, 503.  [default: all]",
)
@click.option(
    "--fault-hold",
    metavar="WAIT",
    help="How long a timeout fault holds the connection open.  [default: 30s]",
)
@click.option(
    "--chaos-seed",
    type=int,
    metavar="N",
    help="Meet the same requests with the same faults and waits in every run.",
)
@click.option(
    "--rate-limit",
    metavar="N/UNIT",
    help="Answer 429 past N requests per s, m, h or d for each credential (100/m: Capillary's"
    " demo clusters).",
)
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    envvar="CAPKIT_QUIET",
    cls=_Option,
    help="Print no line per request (the request log).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    envvar="CAPKIT_LOG_FORMAT",
    cls=_Option,
    help="The console's lines as text for people, or as JSON lines for machines.",
)
def serve(quiet: bool, log_format: str, **flags: object) -> None:
    """Run the mock of the Capillary v2 API on a production server (gunicorn, aiohttp).

    Prints a line per request under /v2 (time, method, path, status, Capillary's code and the
    first problem of a refused request, duration, a fault). Every flag may also come from a
    CAPKIT_* variable (CAPKIT_PORT, CAPKIT_NO_AUTH, CAPKIT_LOG_FORMAT...).
    A --spec must pass `capkit lint`; the mock refuses one that does not with lint's report,
    and one that lacks what it needs beyond OpenAPI (error examples, a server path) too. A
    --seed file whose customers break the spec's schemas or the rules of a registration is
    refused with each problem: the customer, the field and what was expected.
    """
    # Starting builds what lives as long as the process (the modules, the app): collections
    # while it does walked all of it again and again, to free nothing (70-100 ms of a start).
    # serve() turns them back on once it has frozen what was built (and so does a refusal).
    gc.disable()
    try:
        _serve(quiet, log_format, flags)
    finally:
        gc.enable()


def _serve(quiet: bool, log_format: str, flags: dict[str, object]) -> None:
    from capkit import logs
    from mockserver import MissingHandler
    from mockserver.contract import SpecUnfit
    from mockserver.seeding import SeedRefused
    from mockserver.settings import Settings, SettingsError

    with _no_system_certificates():
        from mockserver.server import serve as run

    no_auth = flags.pop("no_auth")
    flags["auth_required"] = False if no_auth else None
    flags["documented_seed"] = False if flags.pop("no_documented_seed") else None
    kinds = flags.pop("fault_kinds")
    flags["fault_kinds"] = None if kinds is None else tuple(str(kinds).split(","))
    logs.configure(quiet=quiet, json_lines=log_format == "json")
    try:
        settings = Settings.load(flags)
        if settings.spec is not None:
            # The bundled spec is linted by capkit's own tests; lint takes seconds to load,
            # and makes garbage all along.
            gc.enable()
            _refuse_unless_clean(settings.spec, spec.load(settings.spec))
        run(settings)
    except (SettingsError, spec.SpecUnreadable, MissingHandler) as error:
        raise click.UsageError(str(error)) from None
    except SpecUnfit as error:
        _refuse(settings.spec, error.problems, "is not one the mock can serve")
    except SeedRefused as error:
        _refuse(error.path, error.problems, "is not a seed file the mock can load")


@contextmanager
def _no_system_certificates() -> Iterator[None]:
    """OpenSSL finds no CA certificates in the block. aiohttp's client, which the mock never
    uses, loads them twice as the server imports it (aio-libs/aiohttp#9029: its contexts are
    made at import, to keep the disk out of the event loop): 60-105 ms of every start."""
    names = ("SSL_CERT_FILE", "SSL_CERT_DIR")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(dict.fromkeys(names, os.devnull))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value


def _refuse_unless_clean(path: Path, document: spec.Document) -> None:
    """Exit UNUSABLE with lint's report when the document at PATH has problems."""
    from contracts.lint import lint_document

    problems = lint_document(document)
    if problems:
        _refuse(path, [str(problem) for problem in problems], "does not pass capkit lint")


def _refuse(path: Path | None, problems: list[str], why: str) -> NoReturn:
    for problem in problems:
        click.echo(problem, err=True)
    name = path if path is not None else "the bundled spec"
    command = click.get_current_context().command_path
    click.echo(f"{command}: {name} {why}: {len(problems)} problem(s)", err=True)
    sys.exit(UNUSABLE)


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


@main.command()
@click.argument("url")
@click.option(
    "--spec",
    "spec_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The OpenAPI document to hold the target to.  [default: the bundled spec]",
)
@click.option(
    "--auth",
    metavar="TILL:PASSWORD",
    help="Capillary's Basic credentials: a till and its password (sent as its md5).",
)
@click.option(
    "--header",
    "headers",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="A header for every request, e.g. 'X-CAP-API-OAUTH-TOKEN: ...' (repeatable).",
)
@click.option(
    "--max-examples",
    type=int,
    metavar="N",
    help="Test cases per operation and phase.  [default: 100]",
)
@click.option(
    "--max-time", type=int, metavar="SECONDS", help="Stop after this long, fuzzing until then."
)
@click.option(
    "--workers",
    type=int,
    default=1,
    show_default=True,
    metavar="N",
    help="Requests sent concurrently.",
)
@click.option(
    "--seed",
    type=int,
    metavar="N",
    help="Seed of the generated cases: a run with it is repeatable.",
)
@click.option(
    "--rate-limit", metavar="N/UNIT", help="At most N requests per s, m, h or d (e.g. 100/m)."
)
@click.option(
    "--read-only", is_flag=True, help="Send no POST, PUT, PATCH or DELETE (safe on production)."
)
@click.option(
    "--include-operation",
    "operations",
    multiple=True,
    metavar="ID",
    help="Test only this operationId (repeatable).",
)
@click.option(
    "--report",
    "reports",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write a report there, by its extension: .xml JUnit XML, .html a page with coverage"
    " (repeatable).",
)
@click.option(
    "--har",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the traffic there, as HAR.",
)
def fuzz(
    url: str,
    spec_path: Path | None,
    headers: tuple[str, ...],
    operations: tuple[str, ...],
    reports: tuple[Path, ...],
    **options: Any,
) -> None:
    """Fuzz the target at URL (its origin; the spec's /v2 is appended) against the spec.

    Runs schemathesis' phases (examples, coverage, fuzzing, stateful through the spec's links)
    with all its checks and Capillary's. Prints progress, a table per operation and each
    distinct failure with a curl command; exits 0 when the target conforms, 1 on any contract
    failure, 2 for a usage error, a target it cannot reach or a run that could not judge it
    (inconclusive: all 401, mostly 429, errors alone, ended early).
    """
    from contracts.errors import BadOption, Unusable
    from contracts.options import FuzzOptions, origin_of, parse_header
    from contracts.report import ProgressPrinter, format_outcome

    written = _by_format(reports, ("junit", "html"))
    for path in reports:
        _writable("--report", path)
    if options["har"] is not None:
        _writable("--har", options["har"])
    try:
        document = spec.load(spec_path)
        if spec_path is not None:
            _refuse_unless_clean(spec_path, document)
        fuzz_options = FuzzOptions(
            headers=dict(map(parse_header, headers)),
            operations=operations,
            junit=written.get("junit"),
            html=written.get("html"),
            **options,
        )
        origin_of(url)
        # The runner takes 1.5 s to import (schemathesis, hypothesis): a usage error is told first.
        from contracts.runner import fuzz as run

        outcome = run(url, fuzz_options, document=document, listener=ProgressPrinter(sys.stderr))
    except BadOption as error:
        raise click.UsageError(str(error)) from None
    except (Unusable, spec.SpecUnreadable) as error:
        click.echo(f"capkit fuzz: {error}", err=True)
        sys.exit(UNUSABLE)
    click.echo(format_outcome(outcome))
    if outcome.inconclusive is not None:
        click.echo(f"capkit fuzz: {outcome.inconclusive}", err=True)
        sys.exit(UNUSABLE)
    if not outcome.conforms:
        sys.exit(CONTRACT_BROKEN)


def _writable(option: str, path: Path) -> None:
    """Raise UsageError, before anything runs, for a PATH that OPTION cannot write to."""
    folder = path.parent
    if not folder.is_dir():
        reason = (
            f"{folder} is no folder" if folder.exists() else f"the folder {folder} does not exist"
        )
        raise click.UsageError(f"{option} has value '{path}'; cannot write there: {reason}")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise click.UsageError(
            f"{option} has value '{path}'; cannot write there: permission denied"
        )


def _by_format(reports: tuple[Path, ...], formats: tuple[str, ...]) -> dict[str, Path]:
    """REPORTS by the option of their format, one of FORMATS; raise UsageError for another
    extension, or two reports of one format."""
    from contracts.errors import BadOption
    from contracts.options import reports_by_format

    try:
        return reports_by_format(reports, formats)
    except BadOption as error:
        raise click.UsageError(str(error)) from None


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option(
    "--spec",
    "spec_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The OpenAPI document to hold the traffic to.  [default: the bundled spec]",
)
@click.option(
    "--report",
    "reports",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.html",
    help="Write a page there: the exchanges per operation, the violations, the coverage.",
)
def verify(file: Path, spec_path: Path | None, reports: tuple[Path, ...]) -> None:
    """Check recorded traffic against the spec: a HAR FILE ('-': standard input), such as
    the mock's journal (GET /__admin/requests?format=har).

    Validates each exchange's request and response against the operation it matches (an
    exchange that matches none is a violation) and prints each violation with the entry's
    index, method, URL and field, then the coverage of the spec; exits 0 when all conform, 1 on
    any violation, 2 when the file cannot be used.
    """
    html = _by_format(reports, ("html",)).get("html")
    for path in reports:
        _writable("--report", path)
    from contracts.errors import Unusable
    from contracts.html import verify_page, write_page
    from contracts.verify import check_har, load_har

    try:
        document = spec.load(spec_path)
        if spec_path is not None:
            _refuse_unless_clean(spec_path, document)
        har = load_har(file)
        exchanges = len(har["log"]["entries"])
        if not exchanges:
            raise Unusable(f"{file} records no exchange: nothing to verify")
        checked = check_har(har, document)
    except (Unusable, spec.SpecUnreadable) as error:
        click.echo(f"capkit verify: {error}", err=True)
        sys.exit(UNUSABLE)
    violations = [violation for exchange in checked for violation in exchange.violations]
    for violation in violations:
        click.echo(str(violation))
    page = verify_page(str(file), checked, document)
    if html is not None:
        write_page(html, page)
    click.echo(page.coverage.line(), err=True)
    if violations:
        click.echo(f"{file}: {len(violations)} violation(s) in {exchanges} exchanges", err=True)
        sys.exit(CONTRACT_BROKEN)
    click.echo(f"{file}: {exchanges} exchanges, all conform", err=True)
