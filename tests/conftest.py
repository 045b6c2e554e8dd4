"""Shared fixtures: environment probes that skip with a visible reason.

Browser tests need Debian's Chromium; PostgreSQL-only tests need the suite to
run with KAIKU_DATABASE_URL pointing at PostgreSQL. With
KAIKU_TEST_REQUIRE_ALL=1 (set by .ci/run in CI) a missing part fails instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

CHROMIUM = "/usr/bin/chromium"
REQUIRE_ALL = os.environ.get("KAIKU_TEST_REQUIRE_ALL") == "1"


def _missing(reason: str) -> None:
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (KAIKU_TEST_REQUIRE_ALL=1 forbids skipping)")
    pytest.skip(reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        # Not a gap: .ci/run runs the whole suite again on PostgreSQL.
        pytest.skip("needs PostgreSQL: run with KAIKU_DATABASE_URL=postgres://…")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium driven by Playwright, shared by the session's tests."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        _missing("headless Chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed")
    # Playwright's sync API keeps an asyncio loop running in the main thread until
    # the session ends, and Django then refuses every ORM call there ("cannot call
    # this from an async context"). The tests are synchronous; nothing is async.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()
