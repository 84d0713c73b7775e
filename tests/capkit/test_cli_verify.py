"""`capkit verify` on journals recorded by the mock: a conforming one, one with a violation."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

import spec
from capkit.cli import main
from contracts.coverage import CoverageCounter, operations_of
from mockserver import Settings, create_app

CAPKIT = Path(sys.executable).parent / "capkit"
CREDENTIALS = {"Authorization": "Basic " + base64.b64encode(b"till:pw").decode()}


def capkit(
    *args: str | Path, cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CAPKIT), *map(str, args)],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def documented_codes() -> int:
    return CoverageCounter(spec.load()).coverage().documented_codes


def mock(tmp_path: Path) -> FlaskClient:
    settings = Settings(state=str(tmp_path / "state.db"), journal=tmp_path / "journal.db")
    return create_app(settings).test_client()


def journal(client: FlaskClient, path: Path) -> Path:
    """The mock's journal, as a frontend team saves it, in PATH."""
    path.write_text(json.dumps(client.get("/__admin/requests?format=har").get_json()))
    return path


def registration() -> dict[str, Any]:
    content = spec.load()["paths"]["/customers"]["post"]["requestBody"]["content"]
    example: dict[str, Any] = content["application/json"]["examples"]["registered"]["value"]
    return example


def test_a_conforming_journal_exits_0(tmp_path: Path) -> None:
    client = mock(tmp_path)
    client.post(
        "/v2/customers?source=LINE&accountId=1234", json=registration(), headers=CREDENTIALS
    )
    client.get(
        "/v2/customers/lookup?source=LINE&accountId=1234&identifierName=mobile"
        "&identifierValue=928000000113",
        headers=CREDENTIALS,
    )
    client.get("/v2/customers/17742/subscriptions", headers=CREDENTIALS)
    result = capkit("verify", journal(client, tmp_path / "journal.har"), cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, ""), result.stdout + result.stderr
    operations = len(list(operations_of(spec.load())))
    assert result.stderr.splitlines() == [
        f"coverage: 3/{operations} operations, 0/{documented_codes()} documented error codes",
        f"{tmp_path / 'journal.har'}: 3 exchanges, all conform",
    ]


def test_a_journal_with_a_violation_exits_1_naming_entry_method_url_and_field(
    tmp_path: Path,
) -> None:
    client = mock(tmp_path)
    client.get("/v2/customers/17742/subscriptions", headers=CREDENTIALS)
    body = {**registration(), "loyaltyInfo": {"loyaltyType": "gold"}}
    client.post("/v2/customers?source=LINE&accountId=1234", json=body, headers=CREDENTIALS)
    result = capkit("verify", journal(client, tmp_path / "journal.har"), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith(
        "entries[1] POST http://localhost/v2/customers?source=LINE&accountId=1234:"
        " request body field 'loyaltyInfo.loyaltyType': 'gold' is not one of"
    )
    assert result.stderr.endswith("violation(s) in 2 exchanges\n")


def test_the_report_is_a_page_of_the_violations_and_the_coverage(tmp_path: Path) -> None:
    client = mock(tmp_path)
    client.get("/v2/customers/4/subscriptions", headers=CREDENTIALS)  # 8015: reached
    body = {**registration(), "loyaltyInfo": {"loyaltyType": "gold"}}
    client.post("/v2/customers?source=LINE&accountId=1234", json=body, headers=CREDENTIALS)
    har = journal(client, tmp_path / "journal.har")
    result = capkit("verify", har, "--report", "page.html", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    page = (tmp_path / "page.html").read_text()
    assert result.stderr.splitlines()[0] in page
    assert result.stderr.splitlines()[0].endswith(f" 1/{documented_codes()} documented error codes")
    assert "entries[1] POST http://localhost/v2/customers?source=LINE&amp;accountId=1234" in page
    assert "request body field &#39;loyaltyInfo.loyaltyType&#39;: &#39;gold&#39;" in page
    assert "-H &#39;Authorization: Basic [Filtered]&#39;" in page


def test_a_report_of_another_format_is_refused_before_anything_is_read() -> None:
    refused = CliRunner().invoke(main, ["verify", "missing.har", "--report", "page.xml"])
    assert refused.exit_code == 2
    assert "--report has value 'page.xml'; expected a file ending in .html" in refused.output


def test_a_journal_is_read_from_standard_input(tmp_path: Path) -> None:
    client = mock(tmp_path)
    client.get("/v2/nowhere", headers=CREDENTIALS)
    har = journal(client, tmp_path / "journal.har").read_text()
    result = capkit("verify", "-", cwd=tmp_path, stdin=har)
    assert result.returncode == 1
    assert result.stdout == (
        "entries[0] GET http://localhost/v2/nowhere: exchange: matches no operation of the spec\n"
    )


def test_a_report_where_it_cannot_be_written_is_refused_before_anything_is_read() -> None:
    refused = CliRunner().invoke(main, ["verify", "missing.har", "--report", "no/page.html"])
    assert refused.exit_code == 2
    assert "cannot write there: the folder no does not exist" in refused.output


def test_a_spec_that_does_not_pass_lint_exits_2(tmp_path: Path) -> None:
    (tmp_path / "empty.json").write_text("{}")
    (tmp_path / "one.har").write_text(json.dumps({"log": {"entries": [EXCHANGE]}}))
    result = capkit("verify", "one.har", "--spec", "empty.json", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert "capkit verify: empty.json does not pass capkit lint" in result.stderr


#: An exchange as HAR has it, as far as verify reads it.
EXCHANGE: dict[str, Any] = {
    "request": {"method": "GET", "url": "http://localhost/v2/customers/306/subscriptions"},
    "response": {"status": 200},
}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (1, 'entries[0]: 1 is not of type "object"'),
        (EXCHANGE | {"request": "x"}, 'entries[0].request: "x" is not of type "object"'),
        (
            EXCHANGE | {"response": {"status": "abc"}},
            'entries[0].response.status: "abc" is not of type "integer"',
        ),
        (
            EXCHANGE | {"request": EXCHANGE["request"] | {"headers": {"a": "b"}}},
            'entries[0].request.headers: {"a":"b"} is not of type "array"',
        ),
        (
            EXCHANGE | {"request": {"method": "GET", "url": "http://[::1/v2/customers"}},
            "entries[0].request.url: Invalid IPv6 URL",
        ),
        (
            EXCHANGE | {"request": EXCHANGE["request"] | {"postData": {"text": "\ud800"}}},
            "holds what is no text",
        ),
    ],
)
def test_a_har_whose_entries_verify_cannot_read_exits_2_naming_the_field(
    tmp_path: Path, entry: Any, message: str
) -> None:
    (tmp_path / "odd.har").write_text(json.dumps({"log": {"entries": [entry]}}))
    result = capkit("verify", "odd.har", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert message in result.stderr


def test_what_is_not_a_journal_exits_2(tmp_path: Path) -> None:
    (tmp_path / "plain.json").write_text(json.dumps([{"method": "GET"}]))
    (tmp_path / "empty.har").write_text(json.dumps({"log": {"entries": []}}))
    for name, message in [
        ("missing.har", "cannot read"),
        ("plain.json", "is not a HAR file"),
        ("empty.har", "records no exchange: nothing to verify"),
    ]:
        result = capkit("verify", tmp_path / name, cwd=tmp_path)
        assert (result.returncode, result.stdout) == (2, ""), name
        assert result.stderr.startswith("capkit verify: ") and message in result.stderr, name
