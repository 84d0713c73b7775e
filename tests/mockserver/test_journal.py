"""The request journal: one file per process, merged in time order, cleared by a marker."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mockserver import journal
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
        status=200,
        response_headers=[("Content-Type", "application/json")],
        response_body="{}",
    )


def record_from_another_process(folder: Path, url: str, at: datetime) -> None:
    script = (
        "import sys\nfrom pathlib import Path\n"
        "from mockserver.journal import Entry, Journal\n"
        "Journal(Path(sys.argv[1])).record(Entry(started=float(sys.argv[3]), duration_ms=1.0,"
        " method='GET', url=sys.argv[2], request_headers=[], request_body=None, status=200,"
        " response_headers=[], response_body='{}'))\n"
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


def test_a_line_still_being_written_is_skipped(tmp_path: Path) -> None:
    mine = Journal(tmp_path / "journal")
    mine.record(entry("/v2/whole", START))
    (tmp_path / "journal" / "requests-1.jsonl").write_bytes(b'{"started": "2026-01-01T00:00:0')
    assert [e.url for e in mine.entries()] == ["/v2/whole"]


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
