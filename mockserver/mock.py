"""What a running mock holds: its settings, the compiled spec, the store, the journal, the seed
it resets to, and the rehearsal (delays, faults, rate limit) in force."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import spec
from mockserver.contract import Contract
from mockserver.domain import seed
from mockserver.domain.records import Org
from mockserver.journal import Journal
from mockserver.rehearsal import Rehearsal
from mockserver.seeding import Seeding
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
    #: What reset returns to: the documented customers (unless --no-documented-seed) and
    #: those of the --seed files.
    seed: seed.Seed
    journal: Journal
    #: Where the state is kept, for people: the file, or the database without its password.
    where: str
    #: Closes this process's connections to the state (a parent's, before its workers fork).
    close: Callable[[], None]
    seeding: Seeding
    rehearsal: Rehearsal

    def reset(self) -> None:
        """Back to the seed, with an empty journal and counts (the rate limit's, the sequence
        of requests) started again."""
        self.store.reset(self.seed.customers)
        self.journal.clear()
