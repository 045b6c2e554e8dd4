"""An agent works a case in a real browser: My cases, the case, a note, a reply, resolve.

Screenshots go to test-artifacts/ (gitignored) for a human to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kaiku.accounts.models import Membership, Role, User, Workspace
from kaiku.contacts.models import Contact
from kaiku.loop.models import Case, CaseNote, CaseReply, LoopSettings
from kaiku.loop.opening import after_answer
from kaiku.responses.models import Response
from kaiku.surveys.models import Survey
from tests.base import PASSWORD

pytestmark = [pytest.mark.browser]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
WIDTHS = {"desktop": (1280, 800), "phone": (375, 812)}
HOSTILE = '<script>window.__xss = 1</script><img src=x onerror="window.__xss=1"> It broke twice'


@pytest.fixture
def acme(transactional_db: None) -> Case:
    """Bob (agent) owns Ann's account; Ann's detractor answer opened a case for him."""
    workspace = Workspace.objects.create(name="Acme", slug="acme", time_zone="Europe/Helsinki")
    alice = User.objects.create_user("alice@example.org", PASSWORD, name="Alice")
    bob = User.objects.create_user("bob@example.org", PASSWORD, name="Bob Agent")
    Membership.objects.create(workspace=workspace, user=alice, role=Role.OWNER)
    Membership.objects.create(workspace=workspace, user=bob, role=Role.AGENT)
    survey = Survey.objects.create(workspace=workspace, name="Relationship NPS")
    LoopSettings.objects.create(
        workspace=workspace, survey=survey, assignment="property", assignee_property="owner"
    )
    ann = Contact.objects.create(
        workspace=workspace,
        email="ann@example.com",
        name="Ann Customer",
        language="en",
        properties={"owner": "bob@example.org", "plan": "enterprise", "seats": 250},
    )
    Response.objects.create(
        workspace=workspace, survey=survey, contact=ann, score=9, channel="email"
    )
    response = Response.objects.create(
        workspace=workspace, survey=survey, contact=ann, score=3, comment=HOSTILE, channel="email"
    )
    after_answer(response.pk)
    return Case.objects.get(response=response)


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


def watch(page: Any) -> list[str]:
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
    return problems


@pytest.mark.parametrize("device", list(WIDTHS))
def test_an_agent_works_a_case_end_to_end(
    page_for: Any, live_server: Any, acme: Case, device: str
) -> None:
    page = page_for(*WIDTHS[device])
    problems = watch(page)
    ARTIFACTS.mkdir(exist_ok=True)

    page.goto(f"{live_server.url}/w/acme/cases/")
    page.fill('input[name="username"]', "bob@example.org")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(f"{live_server.url}/w/acme/cases/")
    table = page.locator('[data-testid="my-cases"]')
    assert "It broke twice" in table.inner_text()
    page.screenshot(path=str(ARTIFACTS / f"loop-inbox-{device}.png"), full_page=True)

    table.locator(f'a[href="/w/acme/cases/{acme.pk}/"]').click()
    page.wait_for_url(f"{live_server.url}/w/acme/cases/{acme.pk}/")
    comment = page.locator('[data-testid="answer-comment"]')
    assert "<script>window.__xss = 1</script>" in comment.inner_text()  # shown as text
    assert page.evaluate("window.__xss") is None  # and never run
    assert "enterprise" in page.locator('[data-testid="contact-properties"]').inner_text()
    assert page.locator('[data-testid="history"] li').count() == 2

    page.fill('form[action$="/notes/"] textarea[name="body"]', "Called Ann, will send a fix.")
    page.click('form[action$="/notes/"] button[type="submit"]')
    page.wait_for_selector("text=Note added.")
    assert "Called Ann, will send a fix." in page.locator("#timeline").inner_text()

    page.select_option("#reply-template", "apology")
    page.click('form.template-picker button[type="submit"]')
    page.wait_for_function(
        "document.querySelector('form[action$=\"/replies/\"] input[name=subject]').value !== ''"
    )
    body = page.input_value('form[action$="/replies/"] textarea[name="body"]')
    assert body.startswith("Hello Ann Customer,")
    assert "you gave us 3" in body
    page.click('form[action$="/replies/"] button[type="submit"]')
    page.wait_for_selector("text=Reply queued")
    assert "Email to ann@example.com (EN)" in page.locator("#timeline").inner_text()

    page.select_option(
        'form[action$="/resolve/"] select[name="category"]', label="Price or billing"
    )
    page.click('form[action$="/resolve/"] button[type="submit"]')
    page.wait_for_selector("text=Case resolved.")
    assert page.locator('[data-testid="category"]').inner_text() == "Price or billing"
    assert "Resolved" in page.locator(".case-head").inner_text()
    page.screenshot(path=str(ARTIFACTS / f"loop-case-{device}.png"), full_page=True)

    case = Case.objects.get(pk=acme.pk)
    assert case.status == "resolved"
    assert case.category is not None
    assert CaseNote.objects.filter(case=case).count() == 1
    assert CaseReply.objects.get(case=case).subject == "About your feedback to Acme"
    # Nothing sticks out sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert problems == []


@pytest.mark.parametrize("device", list(WIDTHS))
def test_an_owner_sees_the_board_metrics_and_rules(
    page_for: Any, live_server: Any, acme: Case, device: str
) -> None:
    page = page_for(*WIDTHS[device])
    problems = watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill('input[name="username"]', "alice@example.org")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_load_state("networkidle")
    shots = {
        "board": "/w/acme/cases/board/?status=all",
        "overview": "/w/acme/cases/overview/",
        "settings": f"/w/acme/cases/surveys/{acme.survey_id}/settings/",
        "alerts": "/w/acme/cases/alerts/",
    }
    for name, path in shots.items():
        page.goto(live_server.url + path)
        page.screenshot(path=str(ARTIFACTS / f"loop-{name}-{device}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name
    page.goto(f"{live_server.url}/w/acme/cases/overview/")
    page.select_option("#days", "7")  # data-submit-on-change (app.js), no inline handler
    page.wait_for_url(f"{live_server.url}/w/acme/cases/overview/?days=7")
    assert problems == []
