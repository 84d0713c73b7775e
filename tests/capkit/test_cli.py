"""`capkit lint`, run as a real process of the installed console script; and what `capkit serve`
does to its own process as it starts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import spec

CAPKIT = Path(sys.executable).parent / "capkit"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
FOUND_BY_MOBILE = (
    "/paths/~1customers~1lookup/get/responses/200/content/application~1json"
    "/examples/foundByMobile/value"
)


def small_document() -> dict[str, Any]:
    """A valid OpenAPI 3.1 document with one example."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "cli test", "version": "1"},
        "paths": {
            "/customers/{customerId}": {
                "get": {
                    "operationId": "getCustomer",
                    "parameters": [
                        {
                            "name": "customerId",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                            "example": 306,
                        }
                    ],
                    "responses": {"200": {"description": "The customer"}},
                }
            }
        },
    }


def capkit(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CAPKIT), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_a_missing_file_is_unusable(tmp_path: Path) -> None:
    result = capkit("lint", tmp_path / "nowhere.json", cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot read" in result.stderr and "nowhere.json" in result.stderr


def test_a_file_that_is_neither_json_nor_yaml_is_unusable(tmp_path: Path) -> None:
    for name, text in [("spec.json", "{not json"), ("spec.yaml", "openapi: [3.1.0")]:
        (tmp_path / name).write_text(text)
        result = capkit("lint", tmp_path / name, cwd=tmp_path)
        assert result.returncode == 2, name
        assert f"cannot parse {tmp_path / name}" in result.stderr


def test_a_valid_document_is_clean_as_json_and_as_yaml(tmp_path: Path) -> None:
    (tmp_path / "spec.json").write_text(json.dumps(small_document()))
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(small_document()))
    for name in ("spec.json", "spec.yaml"):
        result = capkit("lint", tmp_path / name, cwd=tmp_path)
        assert (result.returncode, result.stdout) == (0, ""), result.stderr
        assert "no problems" in result.stderr


def test_a_corrupted_document_prints_the_pointer_and_field(tmp_path: Path) -> None:
    document = small_document()
    document["paths"]["/customers/{customerId}"]["get"]["parameters"][0]["example"] = "306"
    (tmp_path / "spec.json").write_text(json.dumps(document))
    result = capkit("lint", tmp_path / "spec.json", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith(
        "#/paths/~1customers~1{customerId}/get/parameters/0/example: example: "
        "expected type integer, got '306'"
    )


# The bundled spec: these pass once spec/v2.json is the real contract.


def test_the_bundled_spec_is_clean(tmp_path: Path) -> None:
    result = capkit("lint", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_corrupted_copy_of_the_bundled_spec_names_the_example(tmp_path: Path) -> None:
    document = json.loads(spec.bundled_path().read_text(encoding="utf-8"))
    lookup = document["paths"]["/customers/lookup"]["get"]["responses"]["200"]
    lookup["content"]["application/json"]["examples"]["foundByMobile"]["value"]["entity"] = "306"
    (tmp_path / "v2.json").write_text(json.dumps(document))
    result = capkit("lint", tmp_path / "v2.json", cwd=tmp_path)
    assert result.returncode == 1
    assert f"#{FOUND_BY_MOBILE}/entity: entity: " in result.stdout


def test_a_plain_install_ships_the_spec_inside_the_package(tmp_path: Path) -> None:
    source, target, elsewhere = tmp_path / "source", tmp_path / "target", tmp_path / "elsewhere"
    # A copy, so that the build leaves no build/ or *.egg-info behind in the working tree.
    shutil.copytree(
        PROJECT_ROOT,
        source,
        ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "__pycache__", "tests"),
    )
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
        + ["--target", str(target), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    elsewhere.mkdir()
    lint = "import capkit; print(capkit.__file__); from capkit.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", lint, "lint"],
        cwd=elsewhere,
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.startswith(str(target)), f"capkit was not the one installed: {result}"
    assert result.returncode == 0, result.stdout + result.stderr


def test_serve_hides_the_system_certificates_only_while_it_imports_aiohttp(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ssl

    from capkit.cli import _no_system_certificates

    certificates = ssl.get_default_verify_paths().cafile
    assert certificates is not None, "the machine has no CA certificates to hide"
    monkeypatch.setenv("SSL_CERT_FILE", certificates)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with _no_system_certificates():
        assert ssl.create_default_context().cert_store_stats()["x509_ca"] == 0
    # What the user set is back, and what they did not set is not left behind.
    assert os.environ["SSL_CERT_FILE"] == certificates
    assert "SSL_CERT_DIR" not in os.environ
    assert ssl.create_default_context().cert_store_stats()["x509_ca"] > 0
