"""The processes below a process, read from /proc: a server's workers for the bench's memory
figures, a PostgreSQL server's backends for a test that pauses them; and a `capkit serve` that
refuses to start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

CAPKIT = Path(sys.executable).parent / "capkit"


def descendants(root: int) -> list[int]:
    """Every process below ROOT (its children, theirs...), nearest first."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):  # ended meanwhile
                continue
            parents[int(entry.name)] = int(fields[1])
    found, frontier = [], [root]
    while frontier:
        children = sorted(pid for pid, parent in parents.items() if parent in frontier)
        found.extend(children)
        frontier = children
    return found


def refused(*arguments: str | Path, environ: dict[str, str] | None = None) -> str:
    """What `capkit serve ARGUMENTS` says on stderr as it exits 2, having started nothing."""
    process = subprocess.Popen(
        [CAPKIT, "serve", *map(str, arguments)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | (environ or {}),
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise AssertionError(f"capkit serve {arguments} was not refused: it serves") from None
    assert (process.returncode, out) == (2, ""), err
    assert "Traceback" not in err
    return err
