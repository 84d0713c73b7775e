"""The processes below a process, read from /proc: a server's workers for the bench's memory
figures, a PostgreSQL server's backends for a test that pauses them."""

from __future__ import annotations

from pathlib import Path


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
