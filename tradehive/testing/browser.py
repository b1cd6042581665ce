"""pytest plugin for browser tests (registered in the root ``conftest.py``).

Headless Debian Chromium driven by Playwright's sync API against pytest-django's
``live_server`` (a real HTTP server thread on the test database, serving static files too):

- ``browser``: one Chromium for the session, launched by path (``CHROMIUM_PATH``, default
  ``/usr/bin/chromium``; ``make browser`` installs it). Playwright never downloads a browser.
- ``page``: a fresh context (1280x800) per test. JavaScript console errors, uncaught page errors
  and 5xx answers fail the test unless it is marked ``@pytest.mark.allow_console_errors``.
- ``screenshot``: saves the page to ``test-artifacts/screenshots/<name>.png``; a failing browser
  test also leaves ``<test name>-failed.png`` there.

Mark browser tests ``@pytest.mark.browser`` and
``@pytest.mark.django_db(transaction=True)`` (the server thread must see the test's rows)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, expect, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",  # containers and CI run as root without user namespaces
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}
DEFAULT_TIMEOUT_MS = 10_000
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

_page_key = pytest.StashKey[Page]()
_problems_key = pytest.StashKey["PageProblems"]()


def chromium_path() -> str:
    return os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def screenshot_save(page: Page, name: str) -> Path:
    """Save a full-page screenshot as ``test-artifacts/screenshots/<name>.png``."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def pytest_configure(config: pytest.Config) -> None:
    # Assertions wait as long as actions do (Playwright's ``expect`` has its own 5 s default,
    # which ``page.set_default_timeout`` does not change). A live push crosses the test
    # process, Redis, the server and the browser on 2 shared cores; under load it can take
    # seconds, and a push that never comes still fails.
    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
    config.addinivalue_line(
        "markers", "allow_console_errors: the page fixture tolerates JavaScript errors"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run browser tests last. While Playwright's sync API is open, its event loop is the
    running loop of the main thread, which would break ``asyncio.run``/``async_to_sync`` in any
    test after it; the session-scoped browser lives until the end of the run."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    path = chromium_path()
    if not Path(path).exists():
        pytest.fail(
            f"Chromium is not at {path}; run `make browser` (Debian's chromium package) "
            "or set CHROMIUM_PATH",
            pytrace=False,
        )
    # Django refuses ORM calls from a thread with a running event loop; Playwright's sync API
    # keeps one in the main thread, where the test (and its database fixtures) run.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=path, headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class PageProblems:
    """What went wrong in a page: console errors, uncaught exceptions and 5xx answers.

    Chromium also logs "Failed to load resource" for a page that answered 4xx on purpose (a
    form re-shown with 400, a login refused with 401). Those are the server's answer, not a
    page error, so they are dropped; a missing script or stylesheet still counts."""

    def __init__(self) -> None:
        self.console_errors: list[tuple[str, str]] = []  # (text, url)
        self.errors: list[str] = []
        self.documents_4xx: set[str] = set()

    @classmethod
    def watch(cls, page: Page) -> PageProblems:
        """A ``PageProblems`` listening to ``page`` from now on."""
        problems = cls()
        page.on("console", problems.on_console)
        page.on("pageerror", problems.on_page_error)
        page.on("response", problems.on_response)
        return problems

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append((message.text, message.location.get("url", "")))

    def on_page_error(self, error: Exception) -> None:
        self.errors.append(f"page error: {error}")

    def on_response(self, response: Response) -> None:
        if response.status >= 500:
            self.errors.append(f"HTTP {response.status}: {response.request.method} {response.url}")
        elif response.status >= 400 and response.request.resource_type == "document":
            self.documents_4xx.add(response.url)

    def report(self) -> list[str]:
        lines = list(self.errors)
        for text, url in self.console_errors:
            if text.startswith("Failed to load resource") and (
                url in self.documents_4xx
                # Chromium asks for /favicon.ico by itself when a page names no icon.
                or urlsplit(url).path == "/favicon.ico"
            ):
                continue
            lines.append(f"console error: {text} ({url})")
        return lines


def watched_page(
    request: pytest.FixtureRequest, browser: Browser, **context_options: Any
) -> Iterator[Page]:
    """A new page in its own context (cookies, storage), watched for errors (``PageProblems``);
    ``context_options`` go to ``browser.new_context`` (a test module may override ``page``
    with, say, ``bypass_csp=True``)."""
    context = browser.new_context(viewport=VIEWPORT, **context_options)  # type: ignore[arg-type]
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    new_page = context.new_page()
    problems = PageProblems.watch(new_page)
    request.node.stash[_page_key] = new_page
    request.node.stash[_problems_key] = problems
    yield new_page
    context.close()


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    """A new page in its own context (cookies, storage), watched for errors (``PageProblems``)."""
    yield from watched_page(request, browser)


@pytest.fixture
def screenshot(page: Page) -> Callable[[str], Path]:
    """``screenshot("login")`` saves the current page as ``login.png``."""
    return lambda name: screenshot_save(page, name)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail a browser test whose page logged errors; keep a screenshot of a failing one."""
    try:
        result = yield
        problems = item.stash[_problems_key].report() if _problems_key in item.stash else []
        if problems and item.get_closest_marker("allow_console_errors") is None:
            pytest.fail("the page reported errors:\n  " + "\n  ".join(problems), pytrace=False)
    except BaseException:
        failed_page = item.stash.get(_page_key, None)
        if failed_page is not None and not failed_page.is_closed():
            try:
                screenshot_save(failed_page, f"{item.name}-failed")
            except Exception as exc:  # the test's own failure is what to report
                item.add_report_section("call", "screenshot", f"no screenshot: {exc}")
        raise
    return result
