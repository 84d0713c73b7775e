"""Pages in a real browser: Debian's Chromium, driven by Playwright for Python.

Playwright's own browser builds cannot be downloaded here, so it drives the system's Chromium
(`apt-get install chromium`; `.ci/run` installs it). Without it the browser tests skip, saying
so, except where CAPKIT_BROWSER_TESTS=required (CI): there a missing browser fails them.

Every page is watched: a request to any other origin than the page's, and any error in the
browser's console, fail the test. A screenshot of each page is left in test-artifacts/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
#: Where the screenshots go (ignored by git).
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
#: What works on this machine's closed network: without the background-networking flags,
#: Chromium tries Google's hosts at every start. Playwright gives each launch a fresh profile
#: (its own --user-data-dir in a temporary folder).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@contextmanager
def chromium() -> Iterator[Browser]:
    """The system's Chromium (CAPKIT_CHROMIUM, else /usr/bin/chromium), headless; skip when it
    is missing, or fail where CAPKIT_BROWSER_TESTS=required."""
    executable = Path(os.environ.get("CAPKIT_CHROMIUM", CHROMIUM))
    if not executable.is_file():
        message = f"no Chromium at {executable}: apt-get install chromium (.ci/run does)"
        if os.environ.get("CAPKIT_BROWSER_TESTS") == "required":
            pytest.fail(f"{message}; CAPKIT_BROWSER_TESTS=required", pytrace=False)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def visiting(
    browser: Browser,
    url: str,
    *,
    screenshot: str,
    viewport: dict[str, int] = LAPTOP,
    refused: tuple[int, ...] = (),
    unreachable: bool = False,
) -> Iterator[Page]:
    """A fresh page at URL. On the way out its screenshot is saved as SCREENSHOT.png, and the
    test fails if the page asked another origin for anything or logged an error; the browser's
    own line for an answer of a status in REFUSED (bad input the test sends on purpose), or,
    where UNREACHABLE (the test stops the server), for a request no server took, is no error
    of the page."""
    context = browser.new_context(viewport=viewport, accept_downloads=True)  # type: ignore[arg-type]
    foreign: list[str] = []
    errors: list[str] = []
    context.on(
        "request",
        lambda request: foreign.append(request.url) if _elsewhere(request.url, url) else None,
    )
    page = context.new_page()

    def logged(message: ConsoleMessage) -> None:
        if unreachable and message.text.startswith(_UNREACHABLE):
            return
        if message.type == "error" and _status_logged(message.text) not in refused:
            errors.append(f"console.error: {message.text}")

    page.on("console", logged)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    try:
        page.goto(url)
        yield page
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"{screenshot}.png")
        context.close()
    assert not foreign, f"the page of {url} asked elsewhere: {foreign}"
    assert not errors, f"the browser's console says: {errors}"


#: The browser's line for a request that no server answered: none took it (ERR_CONNECTION_
#: REFUSED), or the one stopping dropped it (ERR_CONNECTION_RESET, ERR_EMPTY_RESPONSE, ...).
_UNREACHABLE = "Failed to load resource: net::ERR_"


def _status_logged(text: str) -> int | None:
    """The status of the browser's line for a request answered with an error status."""
    found = re.match(r"Failed to load resource: the server responded with a status of (\d+)", text)
    return int(found[1]) if found else None


def _elsewhere(url: str, page: str) -> bool:
    """Whether URL, asked for by the page at PAGE, is on another origin than the page's; for a
    page that is a file, any other URL. What the page makes itself (data:, blob:) is not."""
    asked, where = urlsplit(url), urlsplit(page)
    if asked.scheme in ("data", "blob"):
        return False
    if where.scheme == "file":
        return asked._replace(fragment="") != where._replace(fragment="")
    return (asked.scheme, asked.netloc) != (where.scheme, where.netloc)
