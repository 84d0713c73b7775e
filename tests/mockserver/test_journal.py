"""The request journal: one file per process, merged in time order, cleared by a marker."""

from __future__ import annotations

import base64
import dataclasses
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mockserver import Settings, create_app, journal
from mockserver.journal import Entry, FileJournal
from tests import har as har_1_2

START = datetime(2026, 1, 1, tzinfo=UTC)


def entry(url: str, at: datetime) -> Entry:
    return Entry(
        started=at.timestamp(),
        duration_ms=1.0,
        method="GET",
        url=url,
        request_headers=[("HTTP_AUTHORIZATION", "Basic dGlsbDpwdw==")],
        request_body=None,
        request_body_size=0,
        status=200,
        response_headers=[("Content-Type", "application/json")],
        response_body="{}",
    )


def record_from_another_process(folder: Path, url: str, at: datetime) -> None:
    script = (
        "import sys\nfrom pathlib import Path\n"
        "from mockserver.journal import Entry, FileJournal\n"
        "FileJournal(Path(sys.argv[1])).record(Entry(started=float(sys.argv[3]), duration_ms=1.0,"
        " method='GET', url=sys.argv[2], request_headers=[], request_body=None,"
        " request_body_size=0, status=200, response_headers=[], response_body='{}'))\n"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(folder), url, repr(at.timestamp())],
        check=True,
        cwd=folder.parent,
    )


def test_entries_of_every_process_merge_in_time_order(tmp_path: Path) -> None:
    mine = FileJournal(tmp_path / "journal")
    mine.record(entry("/v2/first", START))
    record_from_another_process(tmp_path / "journal", "/v2/second", START + timedelta(seconds=1))
    mine.record(entry("/v2/third", START + timedelta(seconds=2)))
    assert [e.url for e in mine.entries()] == ["/v2/first", "/v2/second", "/v2/third"]
    assert len(list((tmp_path / "journal").glob("requests-*.jsonl"))) == 2


def test_clear_hides_what_every_process_recorded_before(tmp_path: Path) -> None:
    mine = FileJournal(tmp_path / "journal")
    mine.record(entry("/v2/before", datetime.now(UTC) - timedelta(seconds=5)))
    record_from_another_process(
        tmp_path / "journal", "/v2/theirs-before", datetime.now(UTC) - timedelta(seconds=5)
    )
    mine.clear()
    assert mine.entries() == []
    mine.record(entry("/v2/after", datetime.now(UTC) + timedelta(seconds=1)))
    assert [e.url for e in FileJournal(tmp_path / "journal").entries()] == ["/v2/after"]


def test_the_version_changes_once_any_process_records_or_clears(tmp_path: Path) -> None:
    mine = FileJournal(tmp_path / "journal")
    mine.record(entry("/v2/mine", START))
    seen = mine.version()
    assert mine.version() == seen == FileJournal(tmp_path / "journal").version()
    record_from_another_process(tmp_path / "journal", "/v2/theirs", START)
    recorded = mine.version()
    assert recorded != seen
    mine.clear()
    assert mine.version() not in (seen, recorded)


def test_the_most_recent_entries_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "CAPACITY", 3)
    mine = FileJournal(tmp_path / "journal")
    for second in range(8):
        mine.record(entry(f"/v2/{second}", START + timedelta(seconds=second)))
    assert [e.url for e in mine.entries()] == ["/v2/5", "/v2/6", "/v2/7"]
    assert len(list((tmp_path / "journal").glob("*.jsonl"))) == 2  # current and previous


def test_big_entries_are_kept_fewer_within_the_bytes_and_the_newest_always(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "CAPACITY_BYTES", 25_000)
    mine = FileJournal(tmp_path / "journal")
    for second in range(8):  # about 10 KB each: two fit
        big = dataclasses.replace(entry(f"/v2/{second}", START), response_body="x" * 10_000)
        mine.record(dataclasses.replace(big, started=big.started + second))
    assert [e.url for e in mine.entries()] == ["/v2/6", "/v2/7"]
    files = list((tmp_path / "journal").glob("*.jsonl"))
    assert len(files) == 2 and sum(f.stat().st_size for f in files) < 2 * (25_000 + 10_200)
    huge = dataclasses.replace(
        entry("/v2/huge", START + timedelta(seconds=9)), response_body="x" * 99_999
    )
    mine.record(huge)
    assert mine.entries() == [huge]


def test_a_line_still_being_written_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mine = FileJournal(tmp_path / "journal")
    mine.record(entry("/v2/whole", START))
    (tmp_path / "journal" / "requests-1.jsonl").write_bytes(b'{"started": "2026-01-01T00:00:0')
    assert [e.url for e in mine.entries()] == ["/v2/whole"]
    assert caplog.records == []  # it is no fault: the line is whole once written


def test_a_line_that_cannot_be_read_is_left_out_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mine = FileJournal(tmp_path / "journal")
    mine.record(entry("/v2/before", START))
    written = next((tmp_path / "journal").glob("requests-*.jsonl"))
    with written.open("ab") as file:
        file.write(b'{"started": "corrupt"}\n\x00\x00\n')
    mine.record(entry("/v2/after", START + timedelta(seconds=1)))
    assert [e.url for e in mine.entries()] == ["/v2/before", "/v2/after"]
    [warning] = caplog.records
    assert warning.levelname == "WARNING"
    assert warning.getMessage() == (
        f"journal: 2 line(s) of {written} cannot be read and are left out"
    )


def test_har_names_headers_and_carries_bodies() -> None:
    [har_entry] = journal.har([entry("http://localhost/v2/customers/lookup?source=ALL", START)])[
        "log"
    ]["entries"]
    assert har_entry["request"]["headers"] == [
        {"name": "Authorization", "value": "Basic dGlsbDpwdw=="}
    ]
    assert har_entry["request"]["queryString"] == [{"name": "source", "value": "ALL"}]
    assert har_entry["response"]["content"] == {
        "size": 2,
        "mimeType": "application/json",
        "text": "{}",
    }


def test_the_journal_as_har_is_har_1_2_with_every_field_it_requires(tmp_path: Path) -> None:
    settings = Settings(state=str(tmp_path / "state.db"), journal=tmp_path / "journal")
    client = create_app(settings).test_client()
    client.get("/v2/customers/17742/subscriptions")
    client.post("/v2/customers", data="{", content_type="application/json")
    har = client.get("/__admin/requests?format=har").get_json()
    assert len(har["log"]["entries"]) == 2
    assert har_1_2.missing(har) == []


def test_credentials_are_masked_before_anything_is_written(tmp_path: Path) -> None:
    settings = Settings(state=str(tmp_path / "state.db"), journal=tmp_path / "journal")
    client = create_app(settings).test_client()
    secret = base64.b64encode(b"till:0cc175b9c0f1b6a831c399e269772661").decode()
    client.get("/v2/customers/17742/subscriptions", headers={"Authorization": f"Basic {secret}"})
    client.get("/v2/customers/17742/subscriptions", headers={"X-CAP-API-OAUTH-TOKEN": "eyJtoken"})
    log = client.get("/__admin/requests?format=har").get_json()["log"]
    sent = [{h["name"]: h["value"] for h in e["request"]["headers"]} for e in log["entries"]]
    assert sent[0]["Authorization"] == "Basic [Filtered]"
    assert sent[1]["X-Cap-Api-Oauth-Token"] == "[Filtered]"
    # Nor do they reach the journal's files, which outlive the mock.
    written = b"".join(path.read_bytes() for path in (tmp_path / "journal").glob("*.jsonl"))
    assert secret.encode() not in written and b"eyJtoken" not in written


def test_a_body_refused_unread_is_journaled_with_its_size(tmp_path: Path) -> None:
    settings = Settings(state=str(tmp_path / "state.db"), journal=tmp_path / "journal", max_body=64)
    client = create_app(settings).test_client()
    body = b'{"profiles": [' + b" " * 100 + b"]}"
    reply = client.post(
        "/v2/customers?source=INSTORE",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": "Basic dGlsbDpwdw=="},
    )
    assert reply.status_code == 413
    [entry] = client.get("/__admin/requests?format=har").get_json()["log"]["entries"]
    assert "postData" not in entry["request"]
    assert entry["request"]["bodySize"] == len(body)
    assert "not recorded" in entry["request"]["comment"]


TILL = {"Authorization": "Basic dGlsbDpwdw=="}
LOOKUP = "/v2/customers/lookup?source={}&identifierName=mobile&identifierValue=919111111111"


def test_each_entry_says_its_operation_and_whether_request_and_response_conform(
    tmp_path: Path,
) -> None:
    settings = Settings(state=str(tmp_path / "state.db"), journal=tmp_path / "journal")
    client = create_app(settings).test_client()
    client.get(LOOKUP.format("INSTORE"), headers=TILL)
    client.get(LOOKUP.format("MYSPACE"), headers=TILL)
    client.get("/v2/customers/4/nothing", headers=TILL)
    client.get("/v2/customers/4/subscriptions", headers=TILL)  # no such customer: a business error
    client.get(LOOKUP.format("INSTORE"))
    found, invalid, unknown, business, anonymous = client.get("/__admin/requests").get_json()[
        "requests"
    ]
    assert (found["operationId"], found["requestProblems"], found["code"]) == (
        "lookupCustomer",
        [],
        None,
    )
    assert (invalid["status"], invalid["code"]) == (400, 8011)
    [problem] = invalid["requestProblems"]
    assert "query parameter 'source' must be one of" in problem
    assert unknown["operationId"] is None and "No operation at" in unknown["requestProblems"][0]
    assert (business["code"], business["requestProblems"]) == (8015, [])
    assert "No credentials" in anonymous["requestProblems"][0]
    assert all(summary["responseProblems"] == [] for summary in (found, invalid, business))


def test_a_response_that_breaks_the_spec_is_journaled_with_its_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mockserver import views

    settings = Settings(state=str(tmp_path / "state.db"), journal=tmp_path / "journal")
    monkeypatch.setitem(views.HANDLERS, "getSubscriptions", lambda call: {"warnings": "none"})
    client = create_app(settings).test_client()
    assert client.get("/v2/customers/17742/subscriptions", headers=TILL).status_code == 500
    [summary] = client.get("/__admin/requests").get_json()["requests"]
    assert summary["requestProblems"] == []
    assert '"none" is not of type "array"' in summary["responseProblems"]


def test_one_exchange_is_served_as_har_by_its_id(tmp_path: Path) -> None:
    settings = Settings(state=str(tmp_path / "state.db"), journal=tmp_path / "journal")
    client = create_app(settings).test_client()
    client.get(LOOKUP.format("MYSPACE"), headers=TILL)
    [summary] = client.get("/__admin/requests").get_json()["requests"]
    exchange = client.get(f"/__admin/requests/{summary['id']}").get_json()
    assert exchange == client.get("/__admin/requests?format=har").get_json()["log"]["entries"][0]
    assert exchange["_capkit"]["requestProblems"] == summary["requestProblems"]
    gone = client.get("/__admin/requests/0123456789abcdef")
    assert gone.status_code == 404
    assert "holds no exchange '0123456789abcdef'" in gone.get_json()["errors"][0]["message"]
