"""`capkit fuzz` as CI runs it: the installed console script, against real sockets."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from contracts.serving import serve_in_thread
from tests.contracts import broken_target
from tests.ports import free_port

CAPKIT = Path(sys.executable).parent / "capkit"
AUTH = f"{broken_target.TILL}:{broken_target.PASSWORD}"
#: Few examples and a seed: fast, and the same cases on every run.
BOUNDED = ("--max-examples", "10", "--seed", "20241122")
STARTUP_SECONDS = 30


def capkit(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CAPKIT), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def answers(origin: str) -> bool:
    try:
        with urllib.request.urlopen(f"{origin}/__admin/health", timeout=5) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


@contextmanager
def capkit_serve(tmp_path: Path, *flags: str) -> Iterator[str]:
    """`capkit serve` on a free port, as a user starts it; yields its origin."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [CAPKIT, "serve", "--port", str(port), *flags],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not answers(origin):
            assert process.poll() is None, f"exited {process.returncode}: {log.read_text()}"
            assert time.monotonic() < deadline, f"not answering: {log.read_text()}"
            time.sleep(0.05)
        yield origin
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="module")
def broken() -> Iterator[str]:
    """The origin of the broken target, served from this process."""
    with serve_in_thread(broken_target.create_app()) as origin:
        yield origin


def only_the_broken_targets_operations() -> list[str]:
    return [flag for name in broken_target.OPERATIONS for flag in ("--include-operation", name)]


def test_the_mock_served_by_capkit_serve_conforms(tmp_path: Path) -> None:
    with capkit_serve(tmp_path, "--auth", AUTH) as origin:
        result = capkit("fuzz", origin, "--auth", AUTH, *BOUNDED, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("conforms: ")
    assert f"cases against {origin}/v2 in " in result.stdout


def test_a_broken_target_exits_1_naming_every_planted_bug(broken: str, tmp_path: Path) -> None:
    result = capkit(
        "fuzz",
        broken,
        "--auth",
        AUTH,
        *BOUNDED,
        *only_the_broken_targets_operations(),
        "--report",
        tmp_path / "junit.xml",
        "--har",
        tmp_path / "traffic.har",
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    # A failure starts with its number; its message may hold blank lines of its own.
    blocks = re.split(r"\n\n(?=\d+\. )", result.stdout)
    for operation_id, check in broken_target.PLANTED:
        assert any(
            block.split(". ", 1)[-1].startswith(f"{operation_id}  ")
            and f"\n   check: {check}" in block
            and "\n   reproduce:\n      curl -X " in block
            for block in blocks
        ), f"{check} on {operation_id} not reported:\n{result.stdout}"
    assert "contract broken: " in result.stdout.splitlines()[-1]
    # Progress went to stderr, a line per phase.
    assert [line.split()[0] for line in result.stderr.splitlines()] == [
        "examples",
        "coverage",
        "fuzzing",
        "stateful",
    ]
    assert ElementTree.parse(tmp_path / "junit.xml").getroot().iter("failure")
    assert json.loads((tmp_path / "traffic.har").read_text())["log"]["entries"]


def test_an_unreachable_target_exits_2_saying_so(tmp_path: Path) -> None:
    origin = f"http://127.0.0.1:{free_port()}"
    result = capkit("fuzz", origin, "--auth", AUTH, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"capkit fuzz: cannot reach {origin}/v2: connection refused; is the target running there?\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--rate-limit", "fast"), "Error: --rate-limit has value 'fast'; expected requests/unit"),
        (("--header", "no colon"), "Error: --header has value 'no colon'; expected 'Name: value'"),
        (("--auth", "till"), "Error: --auth has value 'till'; expected 'till:password'"),
        (("--max-examples", "many"), "Error: Invalid value for '--max-examples'"),
        (("--max-exmaples", "5"), "No such option '--max-exmaples'. (Did you mean one of"),
        (("--include-operation", "nope"), "Error: --include-operation has value 'nope'"),
    ],
)
def test_a_bad_option_exits_2_saying_which(
    broken: str, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = capkit("fuzz", broken, *args, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert message in result.stderr


def test_a_url_with_a_path_is_a_usage_error(tmp_path: Path) -> None:
    result = capkit("fuzz", "http://127.0.0.1:8080/v2", cwd=tmp_path)
    assert result.returncode == 2
    assert "expected an origin without a path" in result.stderr


def test_a_run_that_gets_only_401_exits_2_saying_to_pass_credentials(
    broken: str, tmp_path: Path
) -> None:
    result = capkit(
        "fuzz",
        broken,
        "--max-examples",
        "3",
        "--include-operation",
        "getSubscriptions",
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "every request was answered 401" in result.stderr
    assert "pass --auth till:password" in result.stderr
