"""Fixtures of the mock's tests: a store of each backend, the seed, the spec's samples.

Every test that takes `empty_store` or `store` runs once per backend of BACKENDS: the storage
suite (storage/test_store.py) and the domain's tests are what each backend must pass. With
PostgreSQL, they run twice: called as a script would, and as a request of the server, whose
reads go with those of the others (mockserver/interleaving.py, postgresql/reads.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import pytest

import spec
from mockserver.domain import seed
from mockserver.domain.errors import DomainError
from mockserver.domain.records import Org
from mockserver.storage import Store
from mockserver.storage.backends import open_store
from tests import postgresql, served

#: (operationId, "request" or a status such as "200", example name) -> the example's value.
ExampleOf = Callable[[str, str, str], Any]
#: (operationId, code, the call) -> the DomainError the call raised.
Refusal = Callable[[str, int, Callable[[], object]], DomainError]


def _sqlite(request: pytest.FixtureRequest) -> Callable[[], Store]:
    path = str(request.getfixturevalue("tmp_path") / "state.db")
    return lambda: open_store(path)


def _postgresql(request: pytest.FixtureRequest) -> Callable[[], Store]:
    # One database for the session, emptied for each test: a store is fresh after a reset
    # that shares no settings. Each further handle has a pool of its own, as a replica has.
    first: Store = request.getfixturevalue("postgresql_store")
    first.reset([])
    first.share_settings(None)
    handles = iter([first])

    def open_again() -> Store:
        store = next(handles, None)
        if store is None:
            store = open_store(first.database.url)  # type: ignore[attr-defined]
            request.addfinalizer(store.database.close)  # type: ignore[attr-defined]
        return store

    return open_again


def _postgresql_as_served(request: pytest.FixtureRequest) -> Callable[[], Store]:
    return _postgresql(request)


#: Each backend, by the function that, given the test's request, empties a state of it and
#: returns a function that opens a store on that state.
BACKENDS = [
    pytest.param(_sqlite, id="sqlite"),
    pytest.param(_postgresql, id="postgresql"),
    pytest.param(_postgresql_as_served, id="postgresql-as-served"),
]


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """A test of the postgresql-as-served backend runs as a request of a worker does: in an
    event loop on uvloop, in a greenlet that interleaving.answer runs."""
    callspec = getattr(pyfuncitem, "callspec", None)
    if callspec is None or callspec.params.get("open_store_again") is not _postgresql_as_served:
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    served.as_request(partial(pyfuncitem.obj, **arguments))
    return True


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[postgresql.Server]:
    """A PostgreSQL server of the session's own; skips the test without one on this machine,
    unless postgresql.REQUIRED says that it must run (in CI)."""
    with _started() as server:
        yield server


@pytest.fixture
def postgresql_tls_server() -> Iterator[postgresql.Server]:
    """A PostgreSQL server of the test's own that takes TLS connections, as managed databases
    want them; skips as postgresql_server does."""
    with _started(tls=True) as server:
        yield server


@contextmanager
def _started(*, tls: bool = False) -> Iterator[postgresql.Server]:
    try:
        with postgresql.running(postgresql.DISPOSABLE, tls=tls) as server:
            yield server
    except postgresql.ServerMissing as missing:
        if postgresql.required():
            pytest.fail(f"{missing} ({postgresql.REQUIRED} is set: the tests must run)")
        pytest.skip(f"no PostgreSQL server to test against: {missing}")


@pytest.fixture(scope="session")
def postgresql_store(postgresql_server: postgresql.Server) -> Iterator[Store]:
    """The store in a database of the session's server, as `--state URL` opens it."""
    store = open_store(postgresql_server.create_database("store_suite"))
    yield store
    store.database.close()  # type: ignore[attr-defined] (a PostgresStore's)


@pytest.fixture(scope="session")
def documented_seed() -> seed.Seed:
    """The customers and org that a fresh mock holds."""
    return seed.load()


@pytest.fixture(scope="session")
def org(documented_seed: seed.Seed) -> Org:
    return documented_seed.org


@pytest.fixture(params=BACKENDS)
def open_store_again(request: pytest.FixtureRequest) -> Iterator[Callable[[], Store]]:
    """A function opening a store of each backend on the test's one fresh state: each call
    gives another handle on it, as each worker process (or replica) of the mock has."""
    opener: Callable[[pytest.FixtureRequest], Callable[[], Store]] = request.param
    open_again = opener(request)
    opened: list[Store] = []

    def opened_again() -> Store:
        opened.append(open_again())
        return opened[-1]

    yield opened_again
    for store in opened:
        store.close()


@pytest.fixture
def empty_store(open_store_again: Callable[[], Store]) -> Store:
    """A fresh store of each backend, holding no customer."""
    return open_store_again()


@pytest.fixture
def store(empty_store: Store, documented_seed: seed.Seed) -> Store:
    """A fresh store of each backend, holding the documented customers, as a fresh mock does."""
    empty_store.reset(documented_seed.customers)
    return empty_store


@pytest.fixture(scope="session")
def example_of() -> ExampleOf:
    """A function giving the value of a named example of an operation: of its request body
    ("request"), or of its response with a status ("200", "400")."""
    document = spec.load()

    def resolve(node: Any) -> Any:
        return spec.follow(document, node)[1]

    def example(operation_id: str, where: str, name: str) -> Any:
        for item in document["paths"].values():
            for method, operation in item.items():
                if method != "parameters" and operation["operationId"] == operation_id:
                    part = (
                        operation["requestBody"]
                        if where == "request"
                        else operation["responses"][where]
                    )
                    return resolve(part)["content"]["application/json"]["examples"][name]["value"]
        raise LookupError(f"the spec has no operation {operation_id}")

    return example


@pytest.fixture(scope="session")
def refusal(example_of: ExampleOf) -> Refusal:
    """A function that runs a domain call, expects it to be refused with a code, checks that
    the operation documents that code (its 400 response names an example errNNNN), and
    returns the error."""

    def refused(operation_id: str, code: int, call: Callable[[], object]) -> DomainError:
        with pytest.raises(DomainError) as raised:
            call()
        assert raised.value.code == code, f"expected code {code}, got {raised.value}"
        documented = example_of(operation_id, "400", f"err{code}")
        assert [error["code"] for error in documented["errors"]] == [code]
        return raised.value

    return refused
