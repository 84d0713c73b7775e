"""Fixtures shared by the test folders."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.browser import chromium


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One Chromium for the session's page tests (tests/browser.py)."""
    with chromium() as launched:
        yield launched
