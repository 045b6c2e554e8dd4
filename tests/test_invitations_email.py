"""Invitation emails as a real SMTP server receives them: headers, both parts, working links."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from kaiku.contacts.models import Contact
from kaiku.responses.models import Response
from kaiku.surveys import delivery
from kaiku.surveys.emails import render_invitation, render_preview
from kaiku.surveys.models import Invitation, InvitationStatus, Kind, Survey, SurveyText
from tests.base import BaseTestCase
from tests.delivery_helpers import (
    dispatch_and_deliver,
    invitation_for,
    make_contacts,
    schedule,
    token_of,
)
from tests.smtp import SmtpTestMixin, html_part, links_in, text_part

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
SITE = "http://testserver"


@override_settings(SITE_URL=SITE)
class InvitationEmailTests(SmtpTestMixin, BaseTestCase):
    def send_to(self, contact: Contact, survey: Survey | None = None) -> Any:
        schedule(survey or self.survey, [contact])
        dispatch_and_deliver()
        [message] = self.smtp.wait_for(1)
        return message

    def dana(self, **fields: Any) -> Contact:
        values = {"email": "dana@example.org", "name": "Dana", **fields}
        return Contact.objects.create(workspace=self.workspace, **values)

    def test_it_sends_text_and_html_with_a_link_for_every_score(self) -> None:
        message = self.send_to(self.dana())
        invitation = Invitation.objects.get()
        assert message["To"] == "dana@example.org"
        assert message["From"] == "Acme <kaiku@localhost>"
        assert message["Subject"] == "Acme would like your opinion"
        assert message["Content-Language"] == "en"
        assert message["Auto-Submitted"] == "auto-generated"
        text, html = text_part(message), html_part(message)
        assert "Hello Dana," in text
        assert "How likely is it that you would recommend Acme" in text
        for part in (text, html):
            score_links = [link for link in links_in(part) if "?score=" in link]
            expected = [f"{SITE}/r/{invitation.token}/?score={n}" for n in range(11)]
            assert score_links == expected
        assert "0 – Not at all likely" in text
        assert "10 – Extremely likely" in text
        assert 'aria-label="0 – Not at all likely"' in html
        assert 'role="presentation"' in html
        invitation.refresh_from_db()
        assert invitation.status == InvitationStatus.SENT
        assert invitation.sent_at is not None
        assert invitation.attempts == 1

    def test_the_buttons_are_coloured_by_score_group(self) -> None:
        html = html_part(self.send_to(self.dana()))
        colours = re.findall(r"border-radius:6px;background-color:(#[0-9a-f]{6})", html)
        red, grey, green = "#c62828", "#e3e6ea", "#1b7f3b"
        assert colours == [red] * 7 + [grey] * 2 + [green] * 2

    def test_a_score_link_shows_the_page_and_only_a_post_records(self) -> None:
        message = self.send_to(self.dana())
        [nine] = [link for link in links_in(text_part(message)) if link.endswith("?score=9")]
        path = nine.removeprefix(SITE)
        page = self.client.get(path)
        assert page.status_code == 200
        assert b"How likely is it" in page.content
        assert not Response.objects.exists(), "a GET (a mail scanner) must never record"
        posted = self.client.post(path.split("?")[0], {"score": "9"})
        assert posted.status_code in (200, 302, 303)
        response = Response.objects.get()
        assert response.score == 9
        assert response.invitation == invitation_for(message)
        assert response.channel == "email"
        assert Invitation.objects.get().status == InvitationStatus.RESPONDED

    def test_it_writes_in_the_contacts_language(self) -> None:
        for language, question in [
            ("fi", "kuinka todennäköisesti suosittelisit yritystä Acme"),
            ("et", "Kui tõenäoline on, et soovitate ettevõtet Acme"),
        ]:
            self.smtp.clear()
            contact = self.dana(email=f"{language}@example.org", language=language)
            message = self.send_to(contact)
            assert message["Content-Language"] == language
            assert question in text_part(message)
            assert f'<html lang="{language}"' in html_part(message)

    def test_it_uses_the_surveys_own_wording(self) -> None:
        SurveyText.objects.create(survey=self.survey, language="en", question="Rate {brand}!")
        assert "Rate Acme!" in text_part(self.send_to(self.dana()))

    def test_csat_and_ces_have_their_own_scales(self) -> None:
        for kind, values in [(Kind.CSAT, range(1, 6)), (Kind.CES, range(1, 8))]:
            self.smtp.clear()
            survey = Survey.objects.create(workspace=self.workspace, name=kind, kind=kind)
            contact = self.dana(email=f"{kind}@example.org")
            message = self.send_to(contact, survey)
            links = [link for link in links_in(text_part(message)) if "?score=" in link]
            assert [int(link.rsplit("=", 1)[1]) for link in links] == list(values)

    def test_it_shows_the_brand_colour_name_and_logo(self) -> None:
        self.workspace.brand_name = "Acme Oy"
        self.workspace.brand_color = "#0a7d5a"
        self.workspace.logo_url = "https://cdn.acme.example/logo.png"
        self.workspace.save()
        message = self.send_to(self.dana())
        html = html_part(message)
        assert 'src="https://cdn.acme.example/logo.png" alt="Acme Oy"' in html
        assert "background-color:#0a7d5a" in html
        assert message["Subject"] == "Acme Oy would like your opinion"
        assert message["From"] == "Acme Oy <kaiku@localhost>"

    def test_a_contacts_name_is_escaped_in_html(self) -> None:
        message = self.send_to(self.dana(name='<script>alert("x")</script>'))
        html = html_part(message)
        assert "<script>" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
        # Plain text is not HTML: the name is shown as written.
        assert 'Hello <script>alert("x")</script>,' in text_part(message)

    def test_the_email_has_an_unsubscribe_link_and_no_pixel_by_default(self) -> None:
        message = self.send_to(self.dana())
        token = token_of(message)
        assert f"{SITE}/u/{token}/" in text_part(message)
        assert f'href="{SITE}/u/{token}/"' in html_part(message)
        assert "/o/" not in html_part(message)

    def test_open_tracking_records_the_first_open_when_enabled(self) -> None:
        self.workspace.open_tracking = True
        self.workspace.save()
        message = self.send_to(self.dana())
        token = token_of(message)
        assert f'src="{SITE}/o/{token}.gif"' in html_part(message)
        pixel = self.client.get(f"/o/{token}.gif")
        assert pixel.status_code == 200
        assert pixel["Content-Type"] == "image/gif"
        invitation = Invitation.objects.get()
        assert invitation.status == InvitationStatus.OPENED
        first = invitation.opened_at
        assert first is not None
        self.client.get(f"/o/{token}.gif")
        invitation.refresh_from_db()
        assert invitation.opened_at == first

    def test_the_pixel_records_nothing_when_tracking_is_off(self) -> None:
        token = token_of(self.send_to(self.dana()))
        assert self.client.get(f"/o/{token}.gif").status_code == 200
        invitation = Invitation.objects.get()
        assert invitation.opened_at is None
        assert invitation.status == InvitationStatus.SENT
        assert self.client.get("/o/not-a-token.gif").status_code == 200

    def test_an_answered_invitation_stays_responded_when_opened_later(self) -> None:
        self.workspace.open_tracking = True
        self.workspace.save()
        token = token_of(self.send_to(self.dana()))
        self.client.post(f"/r/{token}/", {"score": "10"})
        self.client.get(f"/o/{token}.gif")
        invitation = Invitation.objects.get()
        assert invitation.status == InvitationStatus.RESPONDED
        assert invitation.opened_at is not None

    def test_a_batch_costs_the_same_queries_whatever_its_size(self) -> None:
        make_contacts(self.workspace, 20)
        schedule(self.survey)
        dispatched = delivery.dispatch_due()
        [ids] = dispatched.invitations
        # invitations + their survey texts (prefetch), one UPDATE per email, attempts;
        # PostgreSQL: SET/RESET synchronous_commit around the batch.
        extra = 2 if connection.vendor == "postgresql" else 0
        with self.assertNumQueries(2 + 20 + 1 + extra):
            stats = delivery.deliver_invitations(ids)
        assert stats.sent == 20
        assert len(self.smtp.wait_for(20)) == 20


class RenderTests(BaseTestCase):
    def test_render_invitation_returns_the_parts_and_headers(self) -> None:
        contact = Contact.objects.create(workspace=self.workspace, email="e@example.org")
        invitation = Invitation.objects.create(
            workspace=self.workspace, survey=self.survey, contact=contact, language="en"
        )
        email = render_invitation(invitation)
        assert email.subject == "Acme would like your opinion"
        assert "Hello," in email.text
        assert invitation.token in email.headers["List-Unsubscribe"]
        assert email.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        reminder = render_invitation(invitation, reminder=True)
        assert reminder.subject == "Reminder: Acme would like your opinion"
        assert "A few days ago we asked for your opinion" in reminder.text

    def test_the_preview_needs_no_contact_and_writes_nothing(self) -> None:
        survey = Survey.objects.get(pk=self.survey.pk)
        with self.assertNumQueries(2):  # the workspace (lazy) and the survey's texts
            email = render_preview(survey, "fi")
        assert "Alex" in email.text
        assert "/r/preview/?score=10" in email.html
        assert email.headers["Content-Language"] == "fi"
        assert not Invitation.objects.exists()

    def test_the_mailto_address_is_the_from_domain_with_the_token(self) -> None:
        contact = Contact.objects.create(workspace=self.workspace, email="e@example.org")
        invitation = Invitation.objects.create(
            workspace=self.workspace, survey=self.survey, contact=contact
        )
        with override_settings(DEFAULT_FROM_EMAIL="Acme <surveys@acme.example>"):
            header = render_invitation(invitation).headers["List-Unsubscribe"]
        assert header.startswith(
            f"<mailto:unsubscribe+{invitation.token}@acme.example?subject=unsubscribe>, "
        )
        assert header.endswith(f"/u/{invitation.token}/>")
        with override_settings(EMAIL_UNSUBSCRIBE_ADDRESS="optout@mail.acme.example"):
            header = render_invitation(invitation).headers["List-Unsubscribe"]
        assert header.startswith(
            f"<mailto:optout+{invitation.token}@mail.acme.example?subject=unsubscribe>, <http"
        )


@pytest.mark.browser
@pytest.mark.django_db
def test_the_email_looks_right_in_a_browser(browser: Any) -> None:
    """Renders the HTML part in Chromium (desktop and phone) for a human to look at."""
    from kaiku.accounts.models import Workspace

    workspace = Workspace.objects.create(
        name="Acme", slug="acme-browser", brand_name="Acme Oy", brand_color="#2454d6"
    )
    survey = Survey.objects.create(workspace=workspace, name="Relationship NPS")
    ARTIFACTS.mkdir(exist_ok=True)
    for name, width, reminder in [("desktop", 800, False), ("phone", 375, True)]:
        email = render_preview(survey, "en", reminder=reminder)
        page = browser.new_page(viewport={"width": width, "height": 700})
        page.set_content(email.html)
        buttons = page.locator("a[aria-label]")
        assert buttons.count() == 11
        box = buttons.nth(10).bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= width, "the buttons fit the width"
        page.screenshot(path=str(ARTIFACTS / f"email-invitation-{name}.png"), full_page=True)
        page.close()
    csat = Survey.objects.create(workspace=workspace, name="Support", kind=Kind.CSAT)
    contact = Contact.objects.create(
        workspace=workspace, email="x@example.org", name="<script>window.pwned=1</script>Eve"
    )
    invitation = Invitation.objects.create(
        workspace=workspace, survey=csat, contact=contact, language="fi"
    )
    page = browser.new_page(viewport={"width": 800, "height": 600})
    page.set_content(render_invitation(invitation).html)
    assert page.locator("a[aria-label]").count() == 5
    assert page.evaluate("window.pwned") is None, "the contact's name never runs as script"
    assert "<script>window.pwned=1</script>Eve" in page.inner_text("body")
    page.screenshot(path=str(ARTIFACTS / "email-invitation-csat-fi.png"), full_page=True)
    page.close()
