"""The Makefile's two commands: `make serve` installs what serving needs and nothing more,
quietly, and `make test` the test extras too. Read from `make -n` (what make would run)."""

from __future__ import annotations

import re
import shlex
import subprocess
import warnings
from pathlib import Path

from setuptools.warnings import InformationOnly

ROOT = Path(__file__).resolve().parents[1]


def would_run(target: str, tmp_path: Path) -> list[str]:
    """The commands `make TARGET` runs in a checkout whose venv is still to be made."""
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "-C", str(ROOT), target, f"VENV={tmp_path}/venv"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return dry_run.stdout.splitlines()


def installs(commands: list[str]) -> list[str]:
    """What the pip installs among COMMANDS install in editable mode."""
    words = [shlex.split(command) for command in commands if " -m pip install " in command]
    return [command[command.index("-e") + 1] for command in words if "-e" in command]


def test_make_serve_installs_capkit_without_its_test_extras(tmp_path: Path) -> None:
    commands = would_run("serve", tmp_path)
    assert installs(commands) == ["."], commands
    assert commands[-1].strip() == f"{tmp_path}/venv/bin/capkit serve"


def test_make_test_installs_the_test_extras(tmp_path: Path) -> None:
    assert installs(would_run("install", tmp_path)) == [".[test]"]


def test_every_pip_install_hides_setuptools_editable_notice_and_nothing_else(
    tmp_path: Path,
) -> None:
    """The filter in PYTHONWARNINGS catches the notice setuptools gives (Python matches
    its message from the start), and no other warning of setuptools."""
    commands = [c for c in would_run("serve", tmp_path) if " -m pip install " in c]
    filters = {re.findall(r'PYTHONWARNINGS="([^"]+)"', command)[0] for command in commands}
    assert filters == {"ignore:Editable installation"}
    action, message = next(iter(filters)).split(":")
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        warnings.filterwarnings(action, message=re.escape(message))  # as -W / PYTHONWARNINGS do
        InformationOnly.emit("Editable installation.", "Strict editable installation performed")
        InformationOnly.emit("Another notice.", "one that a user should see")
    assert [str(warning.message).splitlines()[0] for warning in shown] == ["Another notice."]
