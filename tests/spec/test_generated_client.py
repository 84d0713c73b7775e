"""A Python client generated from spec/v2.json, as a frontend or backend team would, driven
against `capkit serve`: openapi-python-client with its default settings, typed models."""

from __future__ import annotations

import base64
import hashlib
import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import spec
from tests.mockserver.test_server import Server, running

GENERATOR = Path(sys.executable).parent / "openapi-python-client"


def generate(output: Path) -> Path:
    """The client of the bundled spec, generated into OUTPUT; its package's folder."""
    result = subprocess.run(
        [GENERATOR, "generate", "--path", spec.bundled_path(), "--output-path", output],
        capture_output=True,
        text=True,
        timeout=300,
        # It formats the code it writes with ruff, which the test extra installs beside it.
        env=os.environ | {"PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ['PATH']}"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    (package,) = [path.parent for path in output.glob("*/client.py")]
    return package


class Generated:
    """The generated package: its modules by their dotted name below it."""

    def __init__(self, package: Path) -> None:
        self.name = package.name

    def __call__(self, module: str) -> ModuleType:
        return importlib.import_module(f"{self.name}.{module}")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    package = generate(tmp_path_factory.mktemp("generated") / "client")
    sys.path.insert(0, str(package.parent))
    try:
        yield Generated(package)
    finally:
        sys.path.remove(str(package.parent))
        for name in [name for name in sys.modules if name.startswith(package.name)]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("serve"), "--auth", "till:secret") as server:
        yield server


def client(generated: Generated, server: Server) -> Any:
    """The generated client, authenticated as the mock's pinned till (a context manager)."""
    till = f"till:{hashlib.md5(b'secret').hexdigest()}"
    return generated("client").AuthenticatedClient(
        base_url=f"http://127.0.0.1:{server.port}/v2",
        token=base64.b64encode(till.encode()).decode(),
        prefix="Basic",
    )


def test_generated_client_registers_finds_reads_updates_and_searches(
    generated: Generated, mock: Server
) -> None:
    api, models = generated("api.customers"), generated("models")
    with client(generated, mock) as customers:
        check_the_customer_journey(api, models, customers)


def check_the_customer_journey(api: ModuleType, models: ModuleType, customers: Any) -> None:
    mobile = "919800000042"
    registration = models.RegistrationRequest(
        loyalty_info=models.LoyaltyInfoInput(loyalty_type=models.LoyaltyType.LOYALTY),
        profiles=[
            models.ProfileInput(
                first_name="Becky",
                last_name="Thatcher",
                identifiers=[models.Identifier(type_=models.IdentifierType.MOBILE, value=mobile)],
            )
        ],
    )
    registered = importlib.import_module(f"{api.__name__}.register_customer").sync(
        client=customers, body=registration, source=models.Source.INSTORE
    )
    assert isinstance(registered, models.RegistrationResult), registered
    customer_id = registered.created_id

    found = importlib.import_module(f"{api.__name__}.lookup_customer").sync(
        client=customers,
        source=models.LookupSource.INSTORE,
        identifier_name=models.IdentifierName.MOBILE,
        identifier_value=mobile,
    )
    assert isinstance(found, models.LookupResult) and found.entity == customer_id

    get_customer = importlib.import_module(f"{api.__name__}.get_customer")
    customer = get_customer.sync(customer_id, client=customers, source=models.LookupSource.ALL)
    assert isinstance(customer, models.Customer)
    assert customer.profiles[0].first_name == "Becky"

    update = models.UpdateRequest(profiles=[models.ProfileUpdate(last_name="Thatcher-Sawyer")])
    updated = importlib.import_module(f"{api.__name__}.update_customer").sync(
        customer_id, client=customers, body=update, source=models.Source.INSTORE
    )
    assert isinstance(updated, models.UpdateResult), updated
    customer = get_customer.sync(customer_id, client=customers, source=models.LookupSource.ALL)
    assert customer.profiles[0].last_name == "Thatcher-Sawyer"

    hits = importlib.import_module(f"{api.__name__}.search_customers").sync(
        client=customers, q="Becky"
    )
    assert isinstance(hits, models.SearchResults)
    assert customer_id in [hit.user_id for hit in hits.data]


def test_generated_client_reads_a_400_as_its_typed_error(
    generated: Generated, mock: Server
) -> None:
    models = generated("models")
    lookup = generated("api.customers.lookup_customer")
    with client(generated, mock) as customers:
        answer = lookup.sync_detailed(
            client=customers,
            source=models.LookupSource.INSTORE,
            identifier_name=models.IdentifierName.MOBILE,
            identifier_value="910000000000",
        )
    assert answer.status_code == 400
    assert isinstance(answer.parsed, models.LookupCustomerResponse400)
    [error] = answer.parsed.errors
    assert (error.status, error.code) == (False, 8015)


def test_generated_client_keeps_every_documented_spelling(generated: Generated) -> None:
    models = generated("models")
    assert models.ActivitySource("instore") is models.ActivitySource.INSTORE_LOWER_CASE
    assert models.ActivitySource("INSTORE") is models.ActivitySource.INSTORE
    activity = generated("models.customeractivityhistories_activity_type")
    spellings = {member.value for member in activity.CustomeractivityhistoriesActivityType}
    documented = spec.load()["components"]["parameters"]["activityActivityType"]["schema"]["enum"]
    assert spellings == set(documented)
    assert len(documented) > 1


def test_generated_client_reads_an_identifier_change_and_a_list_endpoint_s_401(
    generated: Generated, mock: Server
) -> None:
    models, customers_api = generated("models"), "api.customers"
    change = models.IdentifierChange(
        add=[models.Identifier(type_=models.IdentifierType.EMAIL, value="tom@example.com")]
    )
    with client(generated, mock) as customers:
        changed = generated(f"{customers_api}.change_customer_identifier").sync(
            306, client=customers, body=change, source=models.Source.INSTORE
        )
    assert isinstance(changed, models.IdentifierChangeResult), changed
    anonymous = generated("client").Client(base_url=f"http://127.0.0.1:{mock.port}/v2")
    with anonymous:
        refused = generated(f"{customers_api}.search_customers").sync_detailed(
            client=anonymous, q="Becky"
        )
    assert refused.status_code == 401
    assert refused.parsed.pagination.to_dict() == {"limit": 0, "offset": 0, "total": 0}
