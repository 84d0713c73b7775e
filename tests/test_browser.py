"""tests/browser.py: where there is no Chromium, its tests skip, except where CI requires them."""

from __future__ import annotations

import pytest

from tests.browser import chromium


def test_without_chromium_the_page_tests_skip_saying_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAPKIT_CHROMIUM", "/nowhere/chromium")
    monkeypatch.delenv("CAPKIT_BROWSER_TESTS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        with chromium():
            pass


def test_where_required_a_missing_chromium_fails_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAPKIT_CHROMIUM", "/nowhere/chromium")
    monkeypatch.setenv("CAPKIT_BROWSER_TESTS", "required")
    with pytest.raises(pytest.fail.Exception, match="CAPKIT_BROWSER_TESTS=required"):
        with chromium():
            pass
