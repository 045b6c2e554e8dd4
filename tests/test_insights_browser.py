"""The survey dashboard in headless Chromium: demo data, charts, filters, phone width, escaping.

Screenshots go to test-artifacts/ (gitignored) for a human to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kaiku.accounts.models import User
from kaiku.demo.generate import DemoResult, generate_demo
from kaiku.responses.models import Response
from kaiku.surveys.models import Survey

pytestmark = [pytest.mark.browser]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
WIDTHS = {"desktop": (1280, 900), "phone": (375, 812)}
PASSWORD = "demo-password-for-tests"


@pytest.fixture
def demo(transactional_db: None) -> DemoResult:
    from django.utils import timezone

    today = timezone.now().date()
    result = generate_demo(today=today, contacts=300, responses=2500, password=PASSWORD)
    nps = Survey.objects.get(workspace=result.workspace, kind="nps")
    Response.objects.create(
        workspace=result.workspace,
        survey=nps,
        score=1,
        channel="link",
        language="en",
        comment="<script>window.__pwned = 1</script><b>bold?</b>",
        created_at=timezone.now(),
    )
    return result


@pytest.fixture
def page_for(browser: Any, live_server: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def open_page(width: int, height: int) -> tuple[Any, list[str]]:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        problems: list[str] = []
        page.on(
            "console",
            lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.on(
            "response",
            lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill('input[name="username"]', "demo@kaiku.local")
        page.fill('input[name="password"]', PASSWORD)
        page.click('button[type="submit"]')
        page.wait_for_load_state("networkidle")
        return page, problems

    yield open_page
    for context in contexts:
        context.close()


def dashboard_url(live_server: Any, demo: DemoResult) -> str:
    survey = Survey.objects.get(workspace=demo.workspace, kind="nps")
    return f"{live_server.url}/w/{demo.workspace.slug}/surveys/{survey.pk}/dashboard/"


@pytest.mark.parametrize("device", list(WIDTHS))
def test_the_demo_dashboard_draws_its_charts_and_filters_update_it(
    page_for: Any, live_server: Any, demo: DemoResult, device: str
) -> None:
    page, problems = page_for(*WIDTHS[device])
    page.goto(dashboard_url(live_server, demo) + "?by=plan")
    page.wait_for_load_state("networkidle")
    # Chart.js drew on both canvases (a blank canvas has no width from the library).
    assert page.evaluate("typeof window.Chart") == "function"
    for chart in ("trend-chart", "distribution-chart"):
        assert page.evaluate(f"!!window.Chart.getChart(document.getElementById('{chart}'))")
    before = page.locator('[data-testid="headline-n"]').inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{device}.png"), full_page=True)

    # Choosing a channel submits the form: the URL keeps it and every figure follows.
    page.select_option("#f-channel", "email")
    page.wait_for_url("**channel=email**")
    page.wait_for_load_state("networkidle")
    after = page.locator('[data-testid="headline-n"]').inner_text()
    assert int(after) < int(before)
    assert page.locator('[data-testid="segment-plan"]').is_visible()

    # Sort the segment table by n with a click.
    page.get_by_test_id("segment-plan").get_by_role("button", name="n", exact=True).click()
    assert page.locator('[data-testid="segment-plan"] th[aria-sort="ascending"]').count() == 1

    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert problems == []


def test_a_script_in_a_comment_is_shown_as_text(
    page_for: Any, live_server: Any, demo: DemoResult
) -> None:
    page, problems = page_for(*WIDTHS["desktop"])
    page.goto(dashboard_url(live_server, demo) + "comments/?q=pwned")
    page.wait_for_load_state("networkidle")
    text = page.locator(".comment-text").first.inner_text()
    assert text == "<script>window.__pwned = 1</script><b>bold?</b>"
    assert page.evaluate("window.__pwned === undefined")
    assert page.locator(".comment-text b").count() == 0
    page.screenshot(path=str(ARTIFACTS / "dashboard-comments.png"), full_page=True)
    assert problems == []


def test_the_first_screen_combines_nps_surveys(
    page_for: Any, live_server: Any, demo: DemoResult
) -> None:
    other = Survey.objects.create(workspace=demo.workspace, name="Onboarding NPS", kind="nps")
    Response.objects.bulk_create(
        Response(
            workspace=demo.workspace,
            survey=other,
            score=s,
            scale_min=0,
            scale_max=10,
            channel="email",
        )
        for s in [10, 9, 3, 8, 10, 10]
    )
    assert User.objects.filter(email="demo@kaiku.local").exists()
    page, problems = page_for(*WIDTHS["phone"])
    page.goto(f"{live_server.url}/w/{demo.workspace.slug}/")
    for box in page.locator('input[name="combine"]').all():
        box.check()
    page.click("text=Show combined NPS")
    page.wait_for_load_state("networkidle")
    assert page.locator("#combined .combined-value").is_visible()
    page.screenshot(path=str(ARTIFACTS / "first-screen-combined-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert problems == []
