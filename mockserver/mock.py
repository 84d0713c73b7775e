"""What a running mock holds: its settings, the compiled spec, the store and the journal."""

from __future__ import annotations

import dataclasses

import spec
from mockserver.contract import Contract
from mockserver.domain import seed
from mockserver.domain.records import Org
from mockserver.journal import Journal
from mockserver.settings import Settings
from mockserver.storage import Store


@dataclasses.dataclass(frozen=True)
class Mock:
    """Everything a request of the mock is answered with."""

    settings: Settings
    document: spec.Document
    contract: Contract
    store: Store
    org: Org
    seed: seed.Seed
    journal: Journal

    def reset(self) -> None:
        """Back to the seed, with an empty journal."""
        self.store.reset(self.seed.customers)
        self.journal.clear()
