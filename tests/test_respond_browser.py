"""Respondent pages in headless Chromium: with and without JavaScript, by keyboard, on a phone.

Screenshots go to test-artifacts/ (gitignored) for a human look.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kaiku.accounts.models import Workspace
from kaiku.contacts.models import Contact
from kaiku.responses.models import KioskDevice, Response
from kaiku.surveys.models import Invitation, Kind, Survey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PHONE = {"width": 375, "height": 667}
DESKTOP = {"width": 1280, "height": 800}


def make_invitation(brand_color: str = "#0f766e", **survey_fields: Any) -> Invitation:
    workspace = Workspace.objects.create(name="Acme", slug="acme", brand_color=brand_color)
    survey = Survey.objects.create(workspace=workspace, name="Relationship NPS", **survey_fields)
    contact = Contact.objects.create(workspace=workspace, email="dana@example.org")
    return Invitation.objects.create(workspace=workspace, survey=survey, contact=contact)


def open_page(browser: Any, url: str, *, javascript: bool = True, viewport: Any = PHONE) -> Any:
    context = browser.new_context(viewport=viewport, java_script_enabled=javascript, locale="en-GB")
    page = context.new_page()
    page.csp_violations = []
    page.on(
        "console",
        lambda m: page.csp_violations.append(m.text) if "Content Security" in m.text else None,
    )
    # Every resource must load: the icon too. The browser's own /favicon.ico request
    # is not a page request; its 404 shows only as a console error.
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    return page


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_an_emailed_score_is_posted_by_the_script_then_comment_and_thanks(
    live_server: Any, browser: Any
) -> None:
    invitation = make_invitation(
        promoter_cta_text="Leave us a review", promoter_cta_url="https://example.org/review"
    )
    page = open_page(browser, f"{live_server.url}/r/{invitation.token}/?score=9")

    # The GET showed 9 selected; the script POSTed it and landed on the follow-up.
    page.wait_for_url(f"**/r/{invitation.token}/comment/")
    assert Response.objects.get().score == 9
    comment = page.get_by_label("What do you like most?")
    assert page.locator("#score-9").is_checked()
    screenshot(page, "respond-phone-follow-up")

    comment.fill("Fast and friendly <b>support</b>")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"**/r/{invitation.token}/thanks/")
    page.get_by_role("heading", name="Thank you for your feedback!").wait_for()
    assert page.get_by_role("link", name="Leave us a review").is_visible()
    assert "Fast and friendly <b>support</b>" in page.locator(".comment").inner_text()
    screenshot(page, "respond-phone-thanks")

    answer = Response.objects.get()
    assert (answer.score, answer.comment) == (9, "Fast and friendly <b>support</b>")
    assert page.csp_violations == [], "the strict CSP must not block our own style or script"
    assert page.console_errors == []
    page.context.close()


def test_without_javascript_the_plain_button_records_the_answer(
    live_server: Any, browser: Any
) -> None:
    invitation = make_invitation()
    url = f"{live_server.url}/r/{invitation.token}/?score=3"
    page = open_page(browser, url, javascript=False)

    page.wait_for_load_state("networkidle")
    assert Response.objects.count() == 0, "without a script nothing is sent by itself"
    assert page.get_by_text("Your score is selected. Press Send to record it.").is_visible()
    assert page.locator("#score-3").is_checked()
    screenshot(page, "respond-phone-nojs-score")

    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"**/r/{invitation.token}/comment/")
    assert Response.objects.get().score == 3
    page.get_by_label("What should we improve?").fill("The invoice was wrong.")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"**/r/{invitation.token}/thanks/")
    assert Response.objects.get().comment == "The invoice was wrong."
    page.context.close()


def test_the_scores_work_by_keyboard_alone(live_server: Any, browser: Any) -> None:
    invitation = make_invitation()
    survey = invitation.survey
    page = open_page(browser, f"{live_server.url}/s/{survey.public_id}/", viewport=DESKTOP)
    screenshot(page, "respond-desktop-score")

    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # into the score group
    focused = page.evaluate("document.activeElement.name + ':' + document.activeElement.value")
    assert focused == "score:0"
    page.keyboard.press("Space")
    for _ in range(9):
        page.keyboard.press("ArrowRight")  # moving the selection must not send it
    assert page.locator("#score-9").is_checked()
    outline = page.evaluate(
        "getComputedStyle(document.activeElement.nextElementSibling).outlineStyle"
    )
    assert outline == "solid", "the focused score shows a visible focus ring"
    assert "/s/" in page.url
    assert Response.objects.count() == 0
    screenshot(page, "respond-desktop-keyboard-focus")

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Send"
    page.keyboard.press("Space")
    page.wait_for_url(f"**/s/{survey.public_id}/*/")
    assert Response.objects.get().score == 9
    page.context.close()


def test_a_tap_on_a_score_sends_it_at_once(live_server: Any, browser: Any) -> None:
    invitation = make_invitation(brand_color="#ffcc00")  # a light brand: dark text on it
    page = open_page(browser, f"{live_server.url}/s/{invitation.survey.public_id}/")
    screenshot(page, "respond-phone-score")
    page.locator("label[for=score-6]").click()
    page.wait_for_url(f"**/s/{invitation.survey.public_id}/*/")
    assert Response.objects.get().score == 6
    assert page.get_by_label("What should we improve?").is_visible()
    page.context.close()


def test_a_kiosk_resets_after_the_answer(live_server: Any, browser: Any) -> None:
    invitation = make_invitation()
    workspace = invitation.survey.workspace
    csat = Survey.objects.create(workspace=workspace, name="Store CSAT", kind=Kind.CSAT)
    device = KioskDevice.objects.create(
        workspace=workspace, survey=csat, name="Door", location="Tallinn"
    )
    kiosk_url = f"{live_server.url}/k/{device.key}/"
    page = open_page(browser, kiosk_url, viewport={"width": 1024, "height": 768})
    page.get_by_text("1 = Very dissatisfied").wait_for()
    screenshot(page, "respond-kiosk-score")

    page.locator("label[for=score-5]").click()
    page.wait_for_url(f"**/k/{device.key}/*/")
    page.get_by_role("button", name="Send").click()
    page.get_by_role("heading", name="Thank you for your feedback!").wait_for()
    screenshot(page, "respond-kiosk-thanks")
    page.wait_for_url(kiosk_url, timeout=10_000)  # back to the first screen for the next person
    answer = Response.objects.get()
    assert (answer.score, answer.channel, answer.properties) == (
        5,
        "kiosk",
        {"location": "Tallinn"},
    )
    page.context.close()
