"""Hostile text renders as text, and every page works under the Content-Security-Policy.

Acme is seeded (test_security_base.py) with HOSTILE markup in a comment, a
contact's name and properties, a theme, a case note and reply, a webhook's
description. In headless Chromium:

- the pages that show those texts show them literally and never run them
  (`window.__xss` stays undefined), even with the CSP's help taken away;
- every page a member can GET, plus the public pages, loads without a single
  CSP violation or script error: the policy breaks nothing (a template with an
  inline script, handler or style fails here before it fails for a user).

Emails (invitation, teammate invitation, case reply, report) are checked in
their HTML and in Chromium, where no CSP protects them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from kaiku.accounts.models import Membership, Role, TeamInvitation, User, Workspace
from kaiku.insights.models import ReportSubscription
from kaiku.responses.models import KioskDevice
from kaiku.surveys.emails import render_invitation
from kaiku.surveys.models import Survey, SurveyText
from tests.base import PASSWORD
from tests.test_security_base import HOSTILE, HOSTILE_TEXT, Acme, seed_acme
from tests.test_security_routes import Route, all_routes, fill

pytestmark = [pytest.mark.browser]

# What the browser reports when the CSP blocks something.
CSP_WORDS = ("Content Security Policy", "Content-Security-Policy")
# Records violations from the first moment of every page (and frame) load.
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile);
});
"""


@dataclass
class World:
    acme: Acme
    alice: User
    workspace: Workspace
    kiosk_key: str


@pytest.fixture
def world(transactional_db: None) -> World:
    workspace = Workspace.objects.create(name="Acme", slug="acme", time_zone="Europe/Helsinki")
    alice = User.objects.create_user("alice@example.org", PASSWORD, name="Alice")
    Membership.objects.create(workspace=workspace, user=alice, role=Role.OWNER)
    survey = Survey.objects.create(workspace=workspace, name="Relationship NPS")
    acme = seed_acme(workspace, alice, survey)
    kiosk = KioskDevice.objects.get(survey=survey)
    return World(acme=acme, alice=alice, workspace=workspace, kiosk_key=kiosk.key)


@dataclass
class Visit:
    status: int
    text: str
    xss: Any
    csp: list[str]
    errors: list[str]


class Browser:
    """One logged-in browser context that records CSP violations and script errors."""

    def __init__(self, browser: Any, base_url: str, session: str | None) -> None:
        self.base_url = base_url
        self.context = browser.new_context(base_url=base_url)
        self.context.add_init_script(WATCH_CSP)
        if session:
            self.context.add_cookies([{"name": "sessionid", "value": session, "url": base_url}])
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.errors: list[str] = []
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _on_console(self, message: Any) -> None:
        if any(word in message.text for word in CSP_WORDS):
            self.console.append(message.text)

    def visit(self, url: str) -> Visit:
        self.console.clear()
        self.errors.clear()
        response = self.page.goto(url, wait_until="load")
        self.page.wait_for_timeout(50)  # let deferred scripts and srcdoc frames run
        text = self.page.inner_text("body") if self.page.locator("body").count() else ""
        return Visit(
            status=response.status if response else 0,
            text=text,
            xss=self.page.evaluate("window.__xss"),
            csp=[*self.page.evaluate("window.__csp || []"), *self.console],
            errors=list(self.errors),
        )

    def close(self) -> None:
        self.context.close()


def session_of(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


@pytest.fixture
def as_alice(browser: Any, live_server: Any, world: World) -> Iterator[Browser]:
    tab = Browser(browser, live_server.url, session_of(world.alice))
    yield tab
    tab.close()


@pytest.fixture
def as_stranger(browser: Any, live_server: Any, world: World) -> Iterator[Browser]:
    tab = Browser(browser, live_server.url, None)
    yield tab
    tab.close()


# --- Hostile text -------------------------------------------------------------------------


def hostile_pages(world: World) -> list[str]:
    acme = world.acme
    survey = f"/w/acme/surveys/{acme.survey.pk}"
    pages = [
        f"{survey}/dashboard/comments/",
        f"/w/acme/contacts/{acme.contact.pk}/",
        f"/w/acme/contacts/?q={acme.contact.email}",
        f"{survey}/themes/{acme.theme.pk}/",
        "/w/acme/webhooks/",
    ]
    if acme.case is not None:
        pages.append(f"/w/acme/cases/{acme.case.pk}/")
    return pages


def test_hostile_text_shows_as_text_and_never_runs(as_alice: Browser, world: World) -> None:
    for url in hostile_pages(world):
        visit = as_alice.visit(url)
        assert visit.status == 200, url
        assert visit.xss is None, f"{url} ran injected markup"
        assert HOSTILE in visit.text, f"{url} should show the hostile text literally"
        assert visit.csp == [], (url, visit.csp)


def test_hostile_text_is_inert_even_without_the_csp(
    browser: Any, live_server: Any, world: World
) -> None:
    """Escaping alone must hold: the CSP is the second line, not the first."""
    context = browser.new_context(base_url=live_server.url, bypass_csp=True)
    context.add_cookies(
        [{"name": "sessionid", "value": session_of(world.alice), "url": live_server.url}]
    )
    page = context.new_page()
    try:
        survey = f"/w/acme/surveys/{world.acme.survey.pk}"
        for url in [
            *hostile_pages(world),
            f"/w/acme/webhooks/{world.acme.endpoint.pk}/",
            "/w/acme/",
            f"{survey}/dashboard/",
            f"{survey}/log/",
            "/w/acme/cases/",
        ]:
            page.goto(url, wait_until="load")
            assert page.evaluate("window.__xss") is None, url
    finally:
        context.close()


# --- Every page under the CSP -----------------------------------------------------------------


def member_pages(world: World) -> list[str]:
    """Every GET page of Acme's workspace, from the URL resolver (as in the route sweep)."""
    urls: list[str] = []
    for route in all_routes():
        if route.kind == "workspace" and not _download(route):
            urls.extend(fill(route, world.acme))
    return urls


def _download(route: Route) -> bool:
    return route.pattern.endswith((".csv", ".pdf", ".json", ".<str:fmt>", "gdpr-export/"))


def test_every_member_page_works_under_the_csp(as_alice: Browser, world: World) -> None:
    pages = member_pages(world)
    assert len(pages) > 40
    problems = []
    check = Client()
    check.force_login(world.alice)
    for url in pages:
        answer = check.get(url)
        assert answer.status_code < 500, url
        if answer.status_code != 200 or "html" not in answer["Content-Type"]:
            continue  # a POST-only action (405) or a redirect: no page to render
        visit = as_alice.visit(url)
        assert visit.status == 200, url
        assert visit.xss is None, url
        if visit.csp or visit.errors:
            problems.append(f"{url}: {visit.csp + visit.errors}")
    assert problems == [], "\n".join(problems)


def test_the_public_pages_work_under_their_csp(as_stranger: Browser, world: World) -> None:
    acme = world.acme
    pages = [
        "/accounts/login/",
        "/accounts/password-reset/",
        f"/r/{acme.invitation.token}/",
        f"/s/{acme.survey.public_id}/",
        f"/k/{world.kiosk_key}/",
        f"/shared/{acme.share_token}/",
        "/api/v1/docs",
        "/admin/login/",
    ]
    problems = []
    for url in pages:
        visit = as_stranger.visit(url)
        assert visit.status == 200, url
        if visit.csp or visit.errors:
            problems.append(f"{url}: {visit.csp + visit.errors}")
    assert problems == [], "\n".join(problems)


def test_the_app_behaviours_work_without_inline_handlers(as_alice: Browser, world: World) -> None:
    """data-submit-on-change and data-confirm (kaiku/static/kaiku/app.js) do their jobs."""
    page = as_alice.page
    page.goto("/w/acme/team/")
    with page.expect_navigation():
        page.select_option("#lang-select", "fi")
    assert page.locator("html").get_attribute("lang") == "fi"
    # Wait for the navigation itself: wait_for_load_state() can return before it
    # starts, and the goto below would then abort it (net::ERR_ABORTED).
    with page.expect_navigation():
        page.select_option("#lang-select", "en")
    assert page.locator("html").get_attribute("lang") == "en"

    page.goto(f"/w/acme/webhooks/{world.acme.endpoint.pk}/")
    questions: list[str] = []

    def dismiss(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.locator("form[data-confirm] button[type=submit]").first.click()
    page.wait_for_timeout(200)
    assert questions, "the confirmation was asked"
    assert page.url.endswith(f"/w/acme/webhooks/{world.acme.endpoint.pk}/")  # dismissed: stayed


# --- Emails --------------------------------------------------------------------------------


def html_of(message: Any) -> str:
    return str(next(body for body, kind in message.alternatives if kind == "text/html"))


def test_emails_escape_hostile_text(browser: Any, world: World, settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    acme = world.acme
    SurveyText.objects.create(
        survey=acme.survey, language="en", question=f"How likely? {HOSTILE_TEXT}"
    )
    emails = {"invitation": render_invitation(acme.invitation).html}

    world.alice.name = f"Alice {HOSTILE}"
    world.alice.save(update_fields=["name"])
    team_invitation = TeamInvitation.objects.create(
        workspace=world.workspace, email="dana@example.org", invited_by=world.alice
    )
    from kaiku.accounts.tasks import send_team_invitation_email

    mail.outbox.clear()
    send_team_invitation_email.call(team_invitation.pk, "en")
    emails["team invitation"] = html_of(mail.outbox[-1])

    if acme.case is not None:
        from kaiku.loop.models import CaseReply
        from kaiku.loop.replies import deliver_reply

        reply = CaseReply.objects.get(case=acme.case)
        CaseReply.objects.filter(pk=reply.pk).update(status="queued")
        assert deliver_reply(reply.pk) == "sent"
        emails["case reply"] = html_of(mail.outbox[-1])

    from kaiku.insights.reports import send_report

    # A monthly report sent on the first of next month covers the hostile answer.
    subscription = ReportSubscription.objects.get(member__user=world.alice)
    subscription.frequency = "monthly"
    answered = timezone.localtime(acme.response.created_at).date()
    send_report(subscription, (answered.replace(day=1) + timedelta(days=32)).replace(day=1))
    emails["report"] = html_of(mail.outbox[-1])

    page = browser.new_page()
    try:
        for name, email_html in emails.items():
            assert HOSTILE not in email_html, name
            assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in email_html, name
            # No CSP in a mail client: the escaping is all there is.
            page.set_content(email_html)
            assert page.evaluate("window.__xss") is None, name
            assert HOSTILE in page.inner_text("body"), name
    finally:
        page.close()
