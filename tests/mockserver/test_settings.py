"""Settings: a flag, else a CAPKIT_* variable, else the default; and `capkit serve` refusing
a value it cannot take."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import spec
from capkit.cli import main
from mockserver.settings import Settings, SettingsError
from tests.processes import refused

EVERY_FIELD = Settings(
    host="0.0.0.0",
    port=9000,
    workers=3,
    state="/var/capkit/state.db",
    journal=Path("/var/capkit/journal.db"),
    auth_required=False,
    auth="till:s3cret:with:colons",
    lenient=True,
    max_body=2048,
    spec=Path("/specs/v2.yaml"),
    db_pool=5,
    admin_token="s3cret-token",
    allowed_host=("mock.internal", "*"),
    seed=(Path("/seeds/a.json"), Path("/seeds/b.yaml")),
    documented_seed=False,
    latency=("100ms-2s", "getCustomer=1s"),
    faults=0.05,
    fault_kinds=("503", "reset"),
    fault_hold="1s",
    chaos_seed=7,
    rate_limit="100/m",
)


# --- Settings.load --------------------------------------------------------------------------


def test_without_flags_or_variables_every_field_is_its_default() -> None:
    assert Settings.load({}, environ={}) == Settings()
    assert Settings.load(environ={"PORT": "1", "CAPKIT": "x"}) == Settings()


def test_a_variable_beats_the_default_and_is_typed() -> None:
    environ = {
        "CAPKIT_PORT": "9000",
        "CAPKIT_WORKERS": "4",
        "CAPKIT_STATE": "/tmp/state.db",
        "CAPKIT_AUTH_REQUIRED": "false",
        "CAPKIT_LENIENT": "Yes",
        "CAPKIT_AUTH": "till:pw",
    }
    assert Settings.load(environ=environ) == Settings(
        port=9000,
        workers=4,
        state="/tmp/state.db",
        auth_required=False,
        lenient=True,
        auth="till:pw",
    )


def test_a_flag_beats_the_variable() -> None:
    environ = {"CAPKIT_PORT": "9000", "CAPKIT_AUTH_REQUIRED": "true", "CAPKIT_HOST": "0.0.0.0"}
    settings = Settings.load({"port": 9100, "auth_required": False}, environ=environ)
    assert (settings.port, settings.auth_required, settings.host) == (9100, False, "0.0.0.0")


def test_a_flag_that_is_none_was_not_given() -> None:
    flags: dict[str, Any] = {"port": None, "workers": None, "lenient": None, "state": None}
    assert Settings.load(flags, environ={"CAPKIT_PORT": "9000"}) == Settings(port=9000)
    assert Settings.load(flags, environ={}) == Settings()


def test_without_environ_the_process_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPKIT_WORKERS", "5")
    assert Settings.load().workers == 5


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("CAPKIT_PORT", "abc", "--port must be an integer, got 'abc'"),
        ("CAPKIT_MAX_BODY", "1MB", "--max-body must be an integer, got '1MB'"),
        ("CAPKIT_LENIENT", "maybe", "--lenient must be true or false, got 'maybe'"),
        ("CAPKIT_AUTH_REQUIRED", "", "--no-auth must be true or false, got ''"),
        ("CAPKIT_FAULTS", "half", "--faults must be a number, got 'half'"),
        (
            "CAPKIT_FAULTS",
            "2",
            "--faults: expected a fraction of requests from 0 to 1, got 2.0",
        ),
        ("CAPKIT_CHAOS_SEED", "x", "--chaos-seed must be an integer, got 'x'"),
        (
            "CAPKIT_FAULT_KINDS",
            "503,crash",
            "--fault-kinds: expected some of reset, empty, timeout, lost, 500, 503, got 'crash'",
        ),
        (
            "CAPKIT_RATE_LIMIT",
            "lots",
            "--rate-limit: expected requests/unit such as 100/m (units s, m, h, d), got 'lots'",
        ),
        (
            "CAPKIT_LATENCY",
            "soon",
            "--latency: expected a duration such as 300ms or 2s (a bare number is ms), got 'soon'",
        ),
        (
            "CAPKIT_ALLOWED_HOST",
            "mock.internal,https://mock.internal",
            "--allowed-host must be a host name or address, without a scheme or a port"
            " (mock.internal, [fd00::2]), or * for any, got 'https://mock.internal'",
        ),
    ],
)
def test_a_variable_that_does_not_parse_is_named_with_its_flag_and_value(
    variable: str, value: str, expected: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.load(environ={variable: value})
    assert str(raised.value) == f"{expected} from {variable}"


def test_a_variable_that_parses_but_is_out_of_range_is_refused() -> None:
    with pytest.raises(
        SettingsError, match=r"^--workers must be at least 1, got 0 from CAPKIT_WORKERS$"
    ):
        Settings.load(environ={"CAPKIT_WORKERS": "0"})


def test_a_flag_out_of_range_is_named_without_a_variable() -> None:
    with pytest.raises(SettingsError, match=r"^--workers must be at least 1, got 0$"):
        Settings.load({"workers": 0}, environ={"CAPKIT_WORKERS": "2"})


def test_a_path_is_taken_as_a_str_or_a_path_from_python(tmp_path: Path) -> None:
    given = Settings(state=tmp_path / "state.db", journal=str(tmp_path), spec=str(tmp_path))
    assert given == Settings(state=str(tmp_path / "state.db"), journal=tmp_path, spec=tmp_path)


# --- Settings.environ: how the workers get the parent's settings ----------------------------


@pytest.mark.parametrize("settings", [Settings(), EVERY_FIELD], ids=["defaults", "every-field"])
def test_environ_round_trips_through_load(settings: Settings) -> None:
    environ = settings.environ()
    assert all(name.startswith("CAPKIT_") for name in environ)
    assert Settings.load(environ=environ) == settings


def test_environ_leaves_out_what_is_unset_and_writes_booleans_as_load_reads_them() -> None:
    environ = Settings(auth_required=False).environ()
    assert "CAPKIT_STATE" not in environ and "CAPKIT_AUTH" not in environ
    assert (environ["CAPKIT_AUTH_REQUIRED"], environ["CAPKIT_LENIENT"]) == ("false", "false")


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"workers": 0}, "--workers must be at least 1, got 0"),
        ({"auth": "till"}, "--auth must be till:password, got 'till'"),
        ({"port": 65536}, "--port must be from 0 to 65535, got 65536"),
        ({"port": -1}, "--port must be from 0 to 65535, got -1"),
        ({"max_body": 0}, "--max-body must be at least 1 (bytes), got 0"),
        ({"db_pool": 0}, "--db-pool must be at least 1 (connections), got 0"),
        (
            {"admin_token": "two words"},
            "--admin-token must be letters, digits and -._~+/ (what a Bearer token may hold),"
            " got 'two words'",
        ),
        *[
            (
                {"allowed_host": ("mock.internal", name)},
                "--allowed-host must be a host name or address, without a scheme or a port"
                f" (mock.internal, [fd00::2]), or * for any, got {name!r}",
            )
            for name in ("", "mock.internal:8080", "http://mock.internal", "[::1]:80", "[::g]")
            + ("[fd00::2", "fd00::2]")
            + ("a b", "*.a")
        ],
    ],
)
def test_a_value_the_mock_cannot_take_is_refused_naming_it(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings(**fields)
    assert str(raised.value) == message
    assert isinstance(raised.value, ValueError)


def test_the_edges_of_the_ranges_are_accepted() -> None:
    Settings(workers=1, port=0, max_body=1, auth="till:")
    Settings(port=65535)


# --- capkit serve: flags and variables to settings ------------------------------------------


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """The settings `capkit serve` would serve with, instead of serving."""
    calls: list[Settings] = []
    monkeypatch.setattr("mockserver.server.serve", calls.append)
    # The console's logging is the serving process's, not this one's.
    monkeypatch.setattr("capkit.logs.configure", lambda **options: None)
    for name in list(os.environ):
        if name.startswith("CAPKIT_"):
            monkeypatch.delenv(name)
    return calls


@pytest.mark.parametrize(
    ("arguments", "environ", "expected"),
    [
        ([], {}, Settings()),
        (["--port", "9100"], {"CAPKIT_PORT": "9000"}, Settings(port=9100)),
        ([], {"CAPKIT_PORT": "9000", "CAPKIT_WORKERS": "2"}, Settings(port=9000, workers=2)),
        (["--no-auth"], {}, Settings(auth_required=False)),
        ([], {"CAPKIT_NO_AUTH": "1"}, Settings(auth_required=False)),
        ([], {"CAPKIT_NO_AUTH": "0"}, Settings()),
        ([], {"CAPKIT_AUTH_REQUIRED": "false"}, Settings(auth_required=False)),
        (["--lenient", "--max-body", "10"], {}, Settings(lenient=True, max_body=10)),
        (["--state", "s.db", "--auth", "t:p"], {}, Settings(state="s.db", auth="t:p")),
        (
            ["--state", "postgresql://capkit@db/capkit", "--db-pool", "4"],
            {"CAPKIT_ADMIN_TOKEN": "t0ken"},
            Settings(state="postgresql://capkit@db/capkit", db_pool=4, admin_token="t0ken"),
        ),
        (
            ["--seed", "a.json", "--seed", "b.yaml", "--no-documented-seed"],
            {},
            Settings(seed=(Path("a.json"), Path("b.yaml")), documented_seed=False),
        ),
        ([], {"CAPKIT_SEED": "a.json:b.yaml"}, Settings(seed=(Path("a.json"), Path("b.yaml")))),
        (
            ["--latency", "300ms", "--latency", "getCustomer=1s", "--faults", "0.1"],
            {"CAPKIT_LATENCY": "2s"},
            Settings(latency=("300ms", "getCustomer=1s"), faults=0.1),
        ),
        (
            ["--allowed-host", "mock.internal", "--allowed-host", "*"],
            {"CAPKIT_ALLOWED_HOST": "other.internal"},
            Settings(allowed_host=("mock.internal", "*")),
        ),
        (
            [],
            {"CAPKIT_ALLOWED_HOST": "mock.internal, Proxy.internal."},
            Settings(allowed_host=("mock.internal", "Proxy.internal.")),
        ),
        (
            ["--fault-kinds", "503,reset", "--fault-hold", "1s", "--chaos-seed", "3"],
            {"CAPKIT_RATE_LIMIT": "100/m"},
            Settings(
                fault_kinds=("503", "reset"), fault_hold="1s", chaos_seed=3, rate_limit="100/m"
            ),
        ),
    ],
)
def test_serve_turns_flags_and_variables_into_settings(
    served: list[Settings], arguments: list[str], environ: dict[str, str], expected: Settings
) -> None:
    result = CliRunner().invoke(main, ["serve", *arguments], env=environ)
    assert result.exit_code == 0, result.output
    assert served == [expected]


# --- capkit serve, a real process, refusing what it cannot serve with ------------------------


@pytest.fixture(scope="module")
def busy_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.mark.parametrize(
    ("arguments", "environ", "named"),
    [
        (["--workers", "0"], {}, "Error: --workers must be at least 1, got 0\n"),
        (["--port", "70000"], {}, "Error: --port must be from 0 to 65535, got 70000\n"),
        (["--auth", "till"], {}, "Error: --auth must be till:password, got 'till'\n"),
        (["--max-body", "0"], {}, "Error: --max-body must be at least 1 (bytes), got 0\n"),
        (["--workers", "two"], {}, "'two' is not a valid integer"),
        ([], {"CAPKIT_PORT": "abc"}, "--port must be an integer, got 'abc' from CAPKIT_PORT\n"),
        ([], {"CAPKIT_WORKERS": "0"}, "--workers must be at least 1, got 0 from CAPKIT_WORKERS\n"),
        (
            [],
            {"CAPKIT_NO_AUTH": "maybe"},
            "Error: --no-auth must be true or false, got 'maybe' from CAPKIT_NO_AUTH\n",
        ),
        (
            [],
            {"CAPKIT_NO_DOCUMENTED_SEED": "maybe"},
            "Error: --no-documented-seed must be true or false, got 'maybe' from"
            " CAPKIT_NO_DOCUMENTED_SEED\n",
        ),
        (
            [],
            {"CAPKIT_QUIET": "2"},
            "Error: --quiet must be true or false, got '2' from CAPKIT_QUIET\n",
        ),
        (
            [],
            {"CAPKIT_LOG_FORMAT": "xml"},
            "Error: --log-format must be one of text, json, got 'xml' from CAPKIT_LOG_FORMAT\n",
        ),
        (["--spec", "/nowhere/v2.json"], {}, "cannot read /nowhere/v2.json"),
        # The store is opened after the port is probed: --port 0 is free wherever this runs.
        (
            ["--state", "/nowhere/state.db", "--port", "0"],
            {},
            "--state must be in a folder that exists (create /nowhere first)",
        ),
        (
            ["--state", "redis://localhost/0", "--port", "0"],
            {},
            "--state must be the path of a SQLite file",
        ),
        (["--latency", "getCustomr=1s", "--port", "0"], {}, "--latency: expected operationIds"),
        (["--faults", "2"], {}, "--faults: expected a fraction of requests from 0 to 1, got 2.0"),
        (
            ["--allowed-host", "mock.internal:8080"],
            {},
            "Error: --allowed-host must be a host name or address, without a scheme or a port"
            " (mock.internal, [fd00::2]), or * for any, got 'mock.internal:8080'\n",
        ),
        (
            [],
            {"CAPKIT_ALLOWED_HOST": "http://mock.internal"},
            "Error: --allowed-host must be a host name or address, without a scheme or a port"
            " (mock.internal, [fd00::2]), or * for any, got 'http://mock.internal' from"
            " CAPKIT_ALLOWED_HOST\n",
        ),
    ],
)
def test_serve_refuses_a_bad_value_naming_it(
    arguments: list[str], environ: dict[str, str], named: str
) -> None:
    assert named in refused(*arguments, environ=environ)


def test_serve_refuses_a_port_in_use_naming_it(busy_port: int) -> None:
    error = refused("--port", str(busy_port))
    assert f"cannot listen on 127.0.0.1 port {busy_port}: Address already in use" in error


LOOKUP = "/paths/~1customers~1lookup/get"
LOOKUP_200 = LOOKUP + "/responses/200/content/application~1json"


def lookup_of(document: dict[str, Any]) -> dict[str, Any]:
    return document["paths"]["/customers/lookup"]["get"]


def broken_refs(document: dict[str, Any]) -> None:
    """A $ref to a missing schema, and one to a schema that is a $ref to itself."""
    lookup_of(document)["responses"]["200"]["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/Nowhere"
    }
    document["components"]["schemas"]["Loop"] = {"$ref": "#/components/schemas/Loop"}
    lookup_of(document)["parameters"].append(
        {"name": "loop", "in": "query", "schema": {"$ref": "#/components/schemas/Loop"}}
    )


def invalid_example(document: dict[str, Any]) -> None:
    content = lookup_of(document)["responses"]["200"]["content"]["application/json"]
    content["examples"]["foundByMobile"]["value"]["entity"] = "306"


@pytest.mark.parametrize(
    ("change", "reports"),
    [
        (
            broken_refs,
            [
                f"#{LOOKUP_200}/schema/$ref: $ref: expected a reference to a place in this"
                " document, got '#/components/schemas/Nowhere'",
                "#/components/schemas/Loop/$ref: $ref: expected a reference that leads to a"
                " value, got '#/components/schemas/Loop', from which $refs go round in a loop",
            ],
        ),
        (
            invalid_example,
            [
                f"#{LOOKUP_200}/examples/foundByMobile/value/entity: entity: expected type"
                " integer, got '306'"
            ],
        ),
    ],
    ids=["broken-refs", "invalid-example"],
)
def test_serve_refuses_a_spec_that_lint_rejects_with_lint_s_report(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], reports: list[str]
) -> None:
    document = spec.load()
    change(document)
    (tmp_path / "v2.json").write_text(json.dumps(document))
    error = refused("--spec", tmp_path / "v2.json", "--port", "0")
    *problems, last = error.splitlines()
    for report in reports:
        assert any(problem.startswith(report) for problem in problems), error
    assert last == (
        f"capkit serve: {tmp_path / 'v2.json'} does not pass capkit lint:"
        f" {len(problems)} problem(s)"
    )


def test_serve_refuses_a_spec_that_lacks_what_the_mock_answers_with(tmp_path: Path) -> None:
    document = spec.load()
    del lookup_of(document)["responses"]["400"]["content"]["application/json"]["examples"]["err400"]
    (tmp_path / "v2.json").write_text(json.dumps(document))
    assert refused("--spec", tmp_path / "v2.json", "--port", "0") == (
        f"#{LOOKUP}/responses/400/content/application~1json/examples: examples: expected an"
        " example with code 400 (err400): its message is the one the mock answers invalid"
        f" input with\ncapkit serve: {tmp_path / 'v2.json'} is not one the mock can serve:"
        " 1 problem(s)\n"
    )
