"""The request journal: one file per process, merged in time order, cleared by a marker."""

from __future__ import annotations

import base64
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mockserver import Settings, create_app, journal
from mockserver.journal import Entry, Journal

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
        "from mockserver.journal import Entry, Journal\n"
        "Journal(Path(sys.argv[1])).record(Entry(started=float(sys.argv[3]), duration_ms=1.0,"
        " method='GET', url=sys.argv[2], request_headers=[], request_body=None,"
        " request_body_size=0, status=200, response_headers=[], response_body='{}'))\n"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(folder), url, repr(at.timestamp())],
        check=True,
        cwd=folder.parent,
    )


def test_entries_of_every_process_merge_in_time_order(tmp_path: Path) -> None:
    mine = Journal(tmp_path / "journal")
    mine.record(entry("/v2/first", START))
    record_from_another_process(tmp_path / "journal", "/v2/second", START + timedelta(seconds=1))
    mine.record(entry("/v2/third", START + timedelta(seconds=2)))
    assert [e.url for e in mine.entries()] == ["/v2/first", "/v2/second", "/v2/third"]
    assert len(list((tmp_path / "journal").glob("requests-*.jsonl"))) == 2


def test_clear_hides_what_every_process_recorded_before(tmp_path: Path) -> None:
    mine = Journal(tmp_path / "journal")
    mine.record(entry("/v2/before", datetime.now(UTC) - timedelta(seconds=5)))
    record_from_another_process(
        tmp_path / "journal", "/v2/theirs-before", datetime.now(UTC) - timedelta(seconds=5)
    )
    mine.clear()
    assert mine.entries() == []
    mine.record(entry("/v2/after", datetime.now(UTC) + timedelta(seconds=1)))
    assert [e.url for e in Journal(tmp_path / "journal").entries()] == ["/v2/after"]


def test_the_most_recent_entries_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "CAPACITY", 3)
    mine = Journal(tmp_path / "journal")
    for second in range(8):
        mine.record(entry(f"/v2/{second}", START + timedelta(seconds=second)))
    assert [e.url for e in mine.entries()] == ["/v2/5", "/v2/6", "/v2/7"]
    assert len(list((tmp_path / "journal").glob("*.jsonl"))) == 2  # current and previous


def test_a_line_still_being_written_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mine = Journal(tmp_path / "journal")
    mine.record(entry("/v2/whole", START))
    (tmp_path / "journal" / "requests-1.jsonl").write_bytes(b'{"started": "2026-01-01T00:00:0')
    assert [e.url for e in mine.entries()] == ["/v2/whole"]
    assert caplog.records == []  # it is no fault: the line is whole once written


def test_a_line_that_cannot_be_read_is_left_out_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mine = Journal(tmp_path / "journal")
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
