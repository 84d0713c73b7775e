"""The spec as Redocly's linter reads it (its recommended rules): a reader besides `capkit
lint`, of the kind that docs portals and bundlers build on. Redocly's CLI comes from npm through
the machine's Node.js (npx, pinned); without Node.js the test skips, saying so."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import spec

REDOCLY = "@redocly/cli@2.77.0"


def lint(document: Path, cwd: Path) -> dict[str, Any]:
    """Redocly's report on DOCUMENT: totals and problems."""
    npx = shutil.which("npx")
    if npx is None:
        pytest.skip(
            "no npx on this machine: Redocly's linter runs on Node.js (apt-get install npm)"
        )
    result = subprocess.run(
        [npx, "--yes", REDOCLY, "lint", str(document), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )
    report: dict[str, Any] = json.loads(result.stdout)
    assert result.returncode == (1 if report["totals"]["errors"] else 0), result.stderr
    return report


def test_redocly_finds_nothing_in_the_spec(tmp_path: Path) -> None:
    report = lint(spec.bundled_path(), tmp_path)
    assert report["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}, report["problems"]


def test_redocly_names_what_a_broken_copy_breaks(tmp_path: Path) -> None:
    document = json.loads(spec.bundled_path().read_text())
    lookup = document["paths"]["/customers/lookup"]["get"]
    lookup["responses"] = {"200": lookup["responses"]["200"]}  # no 4xx answer declared
    document["paths"]["/customers/{customerId}"]["get"]["operationId"] = lookup["operationId"]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document))
    rules = {problem["ruleId"] for problem in lint(broken, tmp_path)["problems"]}
    assert {"operation-4xx-response", "operation-operationId-unique"} <= rules
