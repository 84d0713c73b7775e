"""The layers import one way: the capkit command -> mockserver and contracts -> spec, which
imports none of them; inside the mock, views -> domain -> storage; mockserver and contracts
never meet. Imports are read from the source with `ast`, so a comment or a string cannot
fool it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The packages capkit ships, the bottom layer first.
PACKAGES = ("spec", "mockserver", "contracts", "capkit")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules_under(folder: str) -> dict[str, Path]:
    """Every module of the package in FOLDER (a path from the checkout's root), by name."""
    return {module_name(path): path for path in sorted((ROOT / folder).rglob("*.py"))}


def imports_in(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """The modules that SOURCE, the text of MODULE, imports: `from a import b` counts as a and
    a.b, relative imports are resolved, and so is importlib.import_module("a") with a literal."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            origin = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            found.add(origin)
            found.update(f"{origin}.{alias.name}" for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Call) and _imports_dynamically(node):
            argument = node.args[0]
            assert isinstance(argument, ast.Constant) and isinstance(argument.value, str)
            found.add(argument.value)
    return found


def _imports_dynamically(call: ast.Call) -> bool:
    function = call.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
    return (
        name in ("import_module", "__import__")
        and bool(call.args)
        and isinstance(call.args[0], ast.Constant)
        and isinstance(call.args[0].value, str)
    )


def imports_of(path: Path) -> set[str]:
    return imports_in(
        path.read_text(encoding="utf-8"), module_name(path), is_package=path.name == "__init__.py"
    )


def is_module(name: str) -> bool:
    """Whether NAME is a module or package of the checkout (not a name inside one)."""
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def breaches(folder: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    """Module of FOLDER -> its imports that are FORBIDDEN modules or under them."""
    found = {}
    for name, path in modules_under(folder).items():
        bad = {
            imported
            for imported in imports_of(path)
            if any(within(imported, prefix) for prefix in forbidden)
        }
        if bad:
            found[name] = sorted(bad)
    return found


def package_imports() -> dict[str, set[str]]:
    """Each package of PACKAGES -> the others that its modules import."""
    return {
        package: {
            other
            for path in modules_under(package).values()
            for imported in imports_of(path)
            for other in PACKAGES
            if other != package and within(imported, other)
        }
        for package in PACKAGES
    }


def module_imports() -> dict[str, set[str]]:
    """Each module of PACKAGES -> the modules of PACKAGES it imports, its own packages aside
    (a module's package is imported before it, whatever it imports)."""
    modules = {name: path for package in PACKAGES for name, path in modules_under(package).items()}
    return {
        name: {
            imported
            for imported in imports_of(path)
            if imported in modules and imported != name and not within(name, imported)
        }
        for name, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each way round in GRAPH: a package, the ones it reaches through, and itself again."""
    found = []

    def walk(path: list[str]) -> None:
        for following in sorted(graph[path[-1]]):
            if following == path[0]:
                found.append([*path, following])
            elif following not in path:
                walk([*path, following])

    for start in sorted(graph):
        walk([start])
    return found


# --- the reader itself ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("import flask", "mockserver.domain.points", {"flask"}),
        ("import os.path as p, sqlite3", "mockserver.domain.points", {"os.path", "sqlite3"}),
        (
            "from werkzeug.exceptions import NotFound",
            "mockserver.domain.points",
            {"werkzeug.exceptions", "werkzeug.exceptions.NotFound"},
        ),
        (
            "from mockserver.storage import sqlite",
            "mockserver.domain.points",
            {"mockserver.storage", "mockserver.storage.sqlite"},
        ),
        (
            "from ..storage import sqlite",
            "mockserver.domain.points",
            {"mockserver.storage", "mockserver.storage.sqlite"},
        ),
        (
            "from . import records",
            "mockserver.domain.points",
            {"mockserver.domain", "mockserver.domain.records"},
        ),
        ("from .sqlite import *", "mockserver.storage", {"mockserver.storage.sqlite"}),
        ("import importlib\nimportlib.import_module('sqlite3')", "m.n", {"importlib", "sqlite3"}),
        ("__import__('flask')", "m.n", {"flask"}),
        ("if TYPE_CHECKING:\n    import sqlite3", "m.n", {"sqlite3"}),
        ("def later():\n    from flask import g", "m.n", {"flask", "flask.g"}),
        ("# import flask\nNAME = 'import flask'", "m.n", set()),
    ],
)
def test_the_reader_finds_every_form_of_import(
    source: str, module: str, expected: set[str]
) -> None:
    is_package = module == "mockserver.storage"
    assert imports_in(source, module, is_package=is_package) == expected


def test_the_layers_hold_the_modules_they_should() -> None:
    # Guards against a rule that passes because it reads nothing.
    assert {
        "mockserver.domain",
        "mockserver.domain.customers",
        "mockserver.domain.identity",
        "mockserver.domain.points",
        "mockserver.domain.subscriptions",
        "mockserver.domain.partner_programs",
        "mockserver.domain.records",
        "mockserver.domain.errors",
        "mockserver.domain.seed",
    } <= set(modules_under("mockserver/domain"))
    assert set(modules_under("mockserver/storage")) >= {
        "mockserver.storage",
        "mockserver.storage.backends",
        "mockserver.storage.sqlite",
        "mockserver.storage.postgresql.store",
    }
    assert "contracts" in modules_under("contracts")
    assert "mockserver.storage.backends" in imports_of(ROOT / "mockserver" / "app.py")
    assert "mockserver.storage.sqlite" in imports_of(ROOT / "mockserver/storage/backends.py")
    assert "sqlite3" in imports_of(ROOT / "mockserver" / "storage" / "sqlite.py")
    assert is_module("mockserver.storage.sqlite") and is_module("mockserver.storage")
    assert not is_module("mockserver.storage.Store")


def test_the_cycle_finder_finds_a_way_round() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"], ["b", "c", "a", "b"], ["c", "a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


# --- the rules ------------------------------------------------------------------------------


def test_no_package_imports_one_that_imports_it_back() -> None:
    graph = package_imports()
    # Guards against a rule that passes because it reads nothing.
    assert graph["capkit"] >= {"mockserver", "contracts", "spec"}
    assert graph["mockserver"] >= {"spec"} and graph["contracts"] >= {"spec"}
    assert cycles(graph) == []


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = module_imports()
    assert {"mockserver.admin", "mockserver.operations"} <= graph["mockserver.app"]
    assert cycles(graph) == []


def test_the_spec_package_imports_none_of_the_others() -> None:
    assert package_imports()["spec"] == set()


def test_the_domain_imports_no_web_framework_no_sql_and_no_sqlite_store() -> None:
    forbidden = ("flask", "werkzeug", "sqlite3", "mockserver.storage.sqlite")
    assert breaches("mockserver/domain", forbidden) == {}


def test_the_domain_imports_of_mockserver_only_itself_and_the_storage_protocol() -> None:
    def allowed(name: str) -> bool:
        # `from mockserver.storage import Store` reads as mockserver.storage.Store: a name
        # of the Protocol module, where mockserver.storage.sqlite is a module of its own.
        return (
            within(name, "mockserver.domain")
            or name == "mockserver.storage"
            or (within(name, "mockserver.storage") and not is_module(name))
        )

    upward = {
        name: sorted(n for n in imports_of(path) if within(n, "mockserver") and not allowed(n))
        for name, path in modules_under("mockserver/domain").items()
    }
    assert {name: bad for name, bad in upward.items() if bad} == {}


def test_only_the_factory_names_a_backend() -> None:
    # Everything else holds a Store, so that a backend plugs in at one place.
    named = breaches("mockserver", ("mockserver.storage.sqlite", "sqlite3"))
    assert named.keys() == {"mockserver.storage.backends", "mockserver.storage.sqlite"}
    postgresql = breaches("mockserver", ("mockserver.storage.postgresql", "psycopg"))
    assert {name for name in postgresql if not within(name, "mockserver.storage.postgresql")} == {
        "mockserver.storage.backends"
    }


def test_the_tests_every_backend_passes_name_no_backend() -> None:
    suite = modules_under("tests/mockserver/domain")
    suite["tests.mockserver.storage.test_store"] = ROOT / "tests/mockserver/storage/test_store.py"
    assert "tests.mockserver.domain.test_customers" in suite
    backends = ("mockserver.storage.sqlite", "sqlite3", "mockserver.storage.postgresql", "psycopg")
    named = {
        name: [n for n in imports_of(path) if any(within(n, backend) for backend in backends)]
        for name, path in suite.items()
    }
    assert {name: found for name, found in named.items() if found} == {}


def test_storage_imports_no_web_framework() -> None:
    assert breaches("mockserver/storage", ("flask", "werkzeug")) == {}


def test_the_mock_imports_no_contracts() -> None:
    assert breaches("mockserver", ("contracts",)) == {}


def test_the_contracts_import_no_mock() -> None:
    assert breaches("contracts", ("mockserver",)) == {}


def test_the_domain_and_its_store_load_without_flask(tmp_path: Path) -> None:
    code = (
        "import sys, mockserver.domain.customers, mockserver.storage.backends;"
        " loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug'));"
        " print(loaded); sys.exit(bool(loaded))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
