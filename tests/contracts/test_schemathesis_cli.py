"""schemathesis' own CLI in the checkout, as the README gives it: the contract of capkit fuzz."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from contracts.options import RUN
from contracts.serving import serve_in_thread
from tests.contracts import broken_target
from tests.mockserver.test_server import running

ROOT = Path(__file__).resolve().parents[2]
#: Fewer cases than schemathesis' default of 100 per operation and phase: the same run, shorter.
BOUNDED = " --max-examples 3 --seed 1"


def readme_recipe() -> str:
    """The README's `st run` command line."""
    (command,) = re.findall(r"^\$ (st run .*)$", (ROOT / "README.md").read_text(), re.MULTILINE)
    return command


def st(command: str) -> subprocess.CompletedProcess[str]:
    """COMMAND in a shell at the checkout's root, with this venv's st first on PATH."""
    bin_dir = Path(sys.executable).parent
    return subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ | {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
    )


def test_the_readmes_recipe_passes_against_the_pinned_mock(tmp_path: Path) -> None:
    with running(tmp_path, "--auth", "till:pw") as server:
        command = readme_recipe().replace("127.0.0.1:8080", f"127.0.0.1:{server.port}")
        result = st(command + BOUNDED)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    assert re.search(r"\d+ generated, \d+ passed", result.stdout), result.stdout[-2000:]
    assert "failed" not in result.stdout.rsplit("SUMMARY", 1)[-1]


def test_the_recipe_runs_the_capillary_checks(tmp_path: Path) -> None:
    with serve_in_thread(broken_target.create_app()) as origin:
        command = readme_recipe().replace("http://127.0.0.1:8080", origin)
        result = st(command + BOUNDED + " --include-operation-id getPointsTransfers")
    assert result.returncode == 1, result.stdout[-4000:] + result.stderr
    assert "warnings_on_success" in result.stdout


def test_schemathesis_toml_configures_a_run_as_capkit_fuzz_does() -> None:
    config = tomllib.loads((ROOT / "schemathesis.toml").read_text())
    assert config.pop("hooks") == "contracts.checks"
    assert config == RUN
