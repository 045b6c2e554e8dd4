"""The first screen in a real browser: log in through the form, read the figures.

Screenshots go to test-artifacts/ (gitignored) for a human to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from kaiku.accounts.models import Membership, Role, User, Workspace
from kaiku.responses.models import Response
from kaiku.surveys.models import Survey
from tests.base import PASSWORD

pytestmark = [pytest.mark.browser]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
WIDTHS = {"desktop": (1280, 800), "phone": (375, 812)}


def _answers(survey: Survey, scores: list[int]) -> None:
    at = timezone.now() - timedelta(days=3)
    Response.objects.bulk_create(
        Response(
            workspace_id=survey.workspace_id,
            survey=survey,
            score=score,
            scale_min=survey.scale_min,
            scale_max=survey.scale_max,
            channel="email",
            created_at=at,
        )
        for score in scores
    )


@pytest.fixture
def acme(transactional_db: None) -> Workspace:
    """Alice's workspace with one survey of each kind, one of them low base and one hidden."""
    workspace = Workspace.objects.create(name="Acme", slug="acme", time_zone="Europe/Helsinki")
    alice = User.objects.create_user("alice@example.org", PASSWORD, name="Alice")
    Membership.objects.create(workspace=workspace, user=alice, role=Role.OWNER)
    nps = Survey.objects.create(workspace=workspace, name="Relationship NPS", kind="nps")
    _answers(nps, [10] * 60 + [9] * 40 + [8] * 30 + [7] * 20 + [5] * 25 + [2] * 15)
    csat = Survey.objects.create(workspace=workspace, name="Support CSAT", kind="csat")
    _answers(csat, [5, 5, 4, 4, 3, 2])
    ces = Survey.objects.create(workspace=workspace, name="Ticket effort (CES)", kind="ces")
    _answers(ces, [6, 7, 5])
    return workspace


@pytest.fixture
def page_for(browser: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def open_page(width: int, height: int) -> Any:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.mark.parametrize("device", list(WIDTHS))
def test_alice_logs_in_and_sees_her_surveys(
    page_for: Any, live_server: Any, acme: Workspace, device: str
) -> None:
    page = page_for(*WIDTHS[device])
    problems: list[str] = []

    # base.html links an SVG icon, so no request (not even /favicon.ico) may fail.
    def check_console(message: Any) -> None:
        if message.type == "error":
            problems.append(f"console: {message.text} ({message.location['url']})")

    def check_response(response: Any) -> None:
        if response.status >= 400:
            problems.append(f"{response.status} {response.url}")

    page.on("console", check_console)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("response", check_response)

    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    page.fill('input[name="username"]', "Alice@Example.org")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(f"{live_server.url}/w/acme/")
    page.wait_for_load_state("networkidle")

    table = page.locator("table.survey-table")
    nps_row = table.locator("tr", has_text="Relationship NPS")
    # 100 promoters, 50 passives, 40 detractors of 190: NPS = 100 * 60 / 190 = 31.6.
    assert nps_row.locator(".value").inner_text() == "31.6"
    assert "Good" in nps_row.inner_text()
    csat_row = table.locator("tr", has_text="Support CSAT")
    assert "66.7" in csat_row.inner_text()
    assert "low base" in csat_row.inner_text()
    ces_row = table.locator("tr", has_text="Ticket effort (CES)")
    assert "fewer than 5 answers" in ces_row.inner_text()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"first-screen-{device}.png"), full_page=True)

    # Nothing sticks out sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert problems == []
