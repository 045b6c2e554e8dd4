"""Respondent pages: email links, public links and kiosks, through the test client."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import time_machine
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from kaiku.contacts.models import Contact
from kaiku.responses.identity import sign_uid
from kaiku.responses.models import Channel, KioskDevice, Response
from kaiku.surveys.models import Invitation, InvitationStatus, Kind, Survey
from kaiku.surveys.texts import default_texts
from tests.base import BaseTestCase

NONCE = "n" * 22


class RespondTestCase(BaseTestCase):
    contact: Contact
    invitation: Invitation
    kiosk: KioskDevice

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.contact = Contact.objects.create(
            workspace=cls.workspace, email="dana@example.org", properties={"plan": "pro"}
        )
        cls.invitation = Invitation.objects.create(
            workspace=cls.workspace,
            survey=cls.survey,
            contact=cls.contact,
            status=InvitationStatus.SENT,
        )
        cls.kiosk = KioskDevice.objects.create(
            workspace=cls.workspace, survey=cls.survey, name="Counter", location="Helsinki"
        )

    @property
    def email_url(self) -> str:
        return reverse("respond:invitation", args=[self.invitation.token])

    @property
    def public_url(self) -> str:
        return reverse("respond:public", args=[self.survey.public_id])

    @property
    def kiosk_url(self) -> str:
        return reverse("respond:kiosk", args=[self.kiosk.key])

    def post(self, url: str, **data: Any) -> Any:
        return self.client.post(url, {"nonce": NONCE, **data})

    def text(self, response: Any) -> str:
        return response.content.decode()


class EmailLinkTests(RespondTestCase):
    def test_mail_scanners_fetching_every_link_record_nothing(self) -> None:
        token = self.invitation.token
        urls = [f"{self.email_url}?score={n}" for n in self.survey.scale]
        urls += [
            reverse("respond:invitation_comment", args=[token]),
            reverse("respond:invitation_thanks", args=[token]),
            f"{self.public_url}?score=10",
            f"{self.kiosk_url}?score=10",
        ]
        for url in urls:
            response = self.client.get(url)
            assert response.status_code in (200, 404), url
            assert "Set-Cookie" not in response.headers, url
        for url in urls[:3]:
            self.client.head(url)
        assert Response.objects.count() == 0
        self.invitation.refresh_from_db()
        assert self.invitation.status == InvitationStatus.SENT
        assert self.invitation.responded_at is None

    def test_the_link_preselects_the_score_for_the_script_to_post(self) -> None:
        page = self.client.get(f"{self.email_url}?score=9")
        html = self.text(page)
        assert page.status_code == 200
        assert re.search(r'value="9" id="score-9" checked', html)
        assert "data-autosubmit" in html
        assert '<script src="/static/kaiku/respond.js" defer></script>' in html
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), "no inline scripts (strict CSP)"
        assert "script-src 'self'" in page["Content-Security-Policy"]
        assert page["Cache-Control"] == "private, no-store"
        assert "How likely is it that you would recommend Acme" in html
        # The plain button for browsers without scripts.
        assert '<button type="submit" class="primary">Send</button>' in html

    def test_posting_the_score_records_it_before_answering(self) -> None:
        page = self.post(self.email_url, score="9", lang="en")
        assert page.status_code == 303
        assert page["Location"] == reverse(
            "respond:invitation_comment", args=[self.invitation.token]
        )
        response = Response.objects.get()  # committed when the redirect arrives
        assert (response.score, response.channel, response.contact_id) == (
            9,
            "email",
            self.contact.pk,
        )
        assert response.properties == {"plan": "pro"}
        self.invitation.refresh_from_db()
        assert self.invitation.status == InvitationStatus.RESPONDED

    def test_the_follow_up_question_depends_on_the_score(self) -> None:
        comment_url = reverse("respond:invitation_comment", args=[self.invitation.token])
        texts = default_texts("nps", "en")
        for score, question in (
            (3, texts.follow_up_detractor),
            (8, texts.follow_up_passive),
            (10, texts.follow_up_promoter),
        ):
            with self.subTest(score=score):
                self.post(self.email_url, score=str(score))
                assert question in self.text(self.client.get(comment_url))
        assert Response.objects.count() == 1, "the latest score wins, never a duplicate"
        assert Response.objects.get().score == 10

    def test_the_comment_is_saved_and_shown_escaped(self) -> None:
        comment_url = reverse("respond:invitation_comment", args=[self.invitation.token])
        self.post(self.email_url, score="2")
        page = self.post(comment_url, score="2", comment="<script>alert('x')</script>\r\nSlow")
        assert page.status_code == 303
        assert page["Location"] == reverse(
            "respond:invitation_thanks", args=[self.invitation.token]
        )
        assert Response.objects.get().comment == "<script>alert('x')</script>\nSlow"
        for url in (page["Location"], comment_url):
            html = self.text(self.client.get(url))
            assert "<script>alert" not in html
            assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html

    def test_the_answer_can_be_changed_for_24_hours_then_the_link_is_closed(self) -> None:
        comment_url = reverse("respond:invitation_comment", args=[self.invitation.token])
        self.post(self.email_url, score="9")
        with time_machine.travel(timezone.now() + timedelta(hours=23)):
            assert self.post(comment_url, score="7", comment="Changed").status_code == 303
        with time_machine.travel(timezone.now() + timedelta(hours=25)):
            for page in (
                self.client.get(self.email_url),
                self.client.get(comment_url),
                self.post(self.email_url, score="0"),
                self.post(comment_url, score="0", comment="late"),
            ):
                assert page.status_code == 410
                assert "This survey is closed" in self.text(page)
        response = Response.objects.get()
        assert (response.score, response.comment) == (7, "Changed")

    def test_bad_input_gets_a_clear_error_and_stores_nothing(self) -> None:
        for data, message in (
            ({"score": "11"}, "from 0 to 10"),
            ({"score": "abc"}, "Please choose a score"),
            ({"score": "-1"}, "Please choose a score"),
            ({}, "Please choose a score"),
        ):
            with self.subTest(**data):
                page = self.post(self.email_url, **data)
                assert page.status_code == 400
                assert message in self.text(page)
                assert 'role="alert"' in self.text(page)
        assert Response.objects.count() == 0

    def test_a_too_long_comment_is_refused_and_kept_in_the_form(self) -> None:
        comment_url = reverse("respond:invitation_comment", args=[self.invitation.token])
        self.post(self.email_url, score="5")
        page = self.post(comment_url, score="5", comment="y" * 5001)
        assert page.status_code == 400
        assert "too long" in self.text(page)
        assert "y" * 5001 in self.text(page)
        assert Response.objects.get().comment == ""

    def test_promoters_see_the_call_to_action(self) -> None:
        Survey.objects.filter(pk=self.survey.pk).update(
            promoter_cta_text="Review us", promoter_cta_url="https://example.org/review"
        )
        thanks = reverse("respond:invitation_thanks", args=[self.invitation.token])
        self.post(self.email_url, score="10")
        html = self.text(self.client.get(thanks))
        assert 'href="https://example.org/review" rel="noopener noreferrer">Review us' in html
        self.post(self.email_url, score="5")
        assert "Review us" not in self.text(self.client.get(thanks))

    def test_detractors_hear_we_will_be_in_touch_when_follow_up_is_on(self) -> None:
        thanks = reverse("respond:invitation_thanks", args=[self.invitation.token])
        self.post(self.email_url, score="2")
        assert "will be in touch" not in self.text(self.client.get(thanks))
        Survey.objects.filter(pk=self.survey.pk).update(follow_up_enabled=True)
        assert "Someone from Acme will be in touch" in self.text(self.client.get(thanks))
        self.post(self.email_url, score="9")
        assert "will be in touch" not in self.text(self.client.get(thanks))


class UnavailableLinkTests(RespondTestCase):
    def test_unknown_links_get_a_plain_404(self) -> None:
        for url in (
            reverse("respond:invitation", args=["nope"]),
            reverse("respond:invitation_thanks", args=[self.invitation.token]),  # no answer yet
            reverse("respond:public", args=["nope"]),
            reverse("respond:public_comment", args=[self.survey.public_id, "nope"]),
            reverse("respond:kiosk", args=["nope"]),
        ):
            page = self.client.get(url)
            assert page.status_code == 404, url
            assert "This link is not valid" in self.text(page)
            assert "Traceback" not in self.text(page)

    def test_an_unknown_link_reveals_nothing_about_the_workspace(self) -> None:
        page = self.client.get(reverse("respond:invitation", args=["nope"]))
        assert "Acme" not in self.text(page)

    def test_an_inactive_survey_is_closed(self) -> None:
        Survey.objects.filter(pk=self.survey.pk).update(is_active=False)
        for url in (self.email_url, self.public_url, self.kiosk_url):
            assert self.client.get(url).status_code == 410, url
            assert self.post(url, score="9").status_code == 410, url
        assert Response.objects.count() == 0

    def test_a_cancelled_invitation_is_closed(self) -> None:
        Invitation.objects.filter(pk=self.invitation.pk).update(status=InvitationStatus.CANCELLED)
        assert self.client.get(self.email_url).status_code == 410

    def test_an_unsubscribed_contact_sees_that_they_unsubscribed(self) -> None:
        Contact.objects.filter(pk=self.contact.pk).update(unsubscribed_at=timezone.now())
        page = self.client.get(self.email_url)
        assert page.status_code == 410
        assert "You have unsubscribed" in self.text(page)
        assert self.post(self.email_url, score="9").status_code == 410
        assert Response.objects.count() == 0

    def test_only_get_head_and_post_are_allowed(self) -> None:
        assert self.client.put(self.email_url).status_code == 405


class LanguageTests(RespondTestCase):
    def question(self, language: str) -> str:
        return self.survey.texts(language).question

    def test_the_browser_language_picks_the_page_language(self) -> None:
        page = self.client.get(self.public_url, headers={"accept-language": "fi-FI,fi;q=0.9"})
        assert '<html lang="fi">' in self.text(page)
        assert self.question("fi") in self.text(page)
        assert page["Content-Language"] == "fi"
        assert "Accept-Language" in page["Vary"]

    def test_the_invitation_language_wins_over_the_browser(self) -> None:
        Invitation.objects.filter(pk=self.invitation.pk).update(language="et")
        page = self.client.get(self.email_url, headers={"accept-language": "fi"})
        assert self.question("et") in self.text(page)

    def test_the_contact_language_is_next(self) -> None:
        Contact.objects.filter(pk=self.contact.pk).update(language="fi")
        page = self.client.get(self.email_url, headers={"accept-language": "et"})
        assert self.question("fi") in self.text(page)

    def test_the_switcher_wins_and_is_stored_with_the_answer(self) -> None:
        page = self.client.get(f"{self.email_url}?lang=et&score=9")
        assert self.question("et") in self.text(page)
        assert 'href="?lang=fi&amp;score=9"' in self.text(page)
        self.client.post(f"{self.email_url}?lang=et&score=9", {"score": "9", "lang": "et"})
        assert Response.objects.get().language == "et"

    def test_only_the_workspace_languages_are_offered(self) -> None:
        self.workspace.languages = ["en", "et"]
        self.workspace.save()
        page = self.client.get(self.public_url, headers={"accept-language": "fi"})
        assert self.question("en") in self.text(page)
        assert "Suomi" not in self.text(page)
        page = self.client.get(f"{self.public_url}?lang=fi")
        assert self.question("en") in self.text(page)

    def test_csat_pages_label_their_ends(self) -> None:
        csat = Survey.objects.create(workspace=self.workspace, name="Support", kind=Kind.CSAT)
        page = self.text(self.client.get(reverse("respond:public", args=[csat.public_id])))
        assert 'id="score-5"' in page
        assert 'id="score-0"' not in page
        assert "1 = Very dissatisfied" in page
        assert "5 = Very satisfied" in page


class PublicLinkTests(RespondTestCase):
    def signed(self, uid: str, workspace: Any = None) -> str:
        sig = sign_uid(workspace or self.workspace, uid)
        return f"{self.public_url}?uid={uid}&sig={sig}"

    def test_answers_are_anonymous_by_default_with_an_edit_token(self) -> None:
        page = self.post(self.public_url, score="6")
        response = Response.objects.get()
        assert response.contact_id is None
        assert response.channel == Channel.LINK
        assert page.status_code == 303
        assert page["Location"] == reverse(
            "respond:public_comment", args=[self.survey.public_id, response.edit_token]
        )
        assert Contact.objects.count() == 1  # only Dana from the fixtures

    def test_a_signed_uid_identifies_the_contact(self) -> None:
        self.post(self.signed("cust-42"), score="9")
        self.post(self.signed("cust-42"), score="7", nonce="m" * 22)
        contact = Contact.objects.get(external_id="cust-42")
        assert contact.workspace_id == self.workspace.pk
        assert list(Response.objects.values_list("contact_id", flat=True)) == [contact.pk] * 2

    def test_unsigned_or_wrongly_signed_claims_are_ignored(self) -> None:
        wrong = sign_uid(self.charlies_workspace, "cust-42")  # another workspace's secret
        for url in (
            f"{self.public_url}?uid=cust-42",
            f"{self.public_url}?uid=cust-42&sig={wrong}",
            f"{self.public_url}?uid=cust-42&sig={'0' * 64}",
            f"{self.public_url}?uid=cust-43&sig={sign_uid(self.workspace, 'cust-42')}",
        ):
            self.client.post(url, {"score": "9"})
        assert Response.objects.count() == 4
        assert not Response.objects.filter(contact__isnull=False).exists()
        assert not Contact.objects.filter(external_id__isnull=False).exists()

    def test_only_whitelisted_hidden_properties_are_stored(self) -> None:
        Survey.objects.filter(pk=self.survey.pk).update(hidden_properties=["plan", "source"])
        self.post(f"{self.public_url}?plan=pro&source=app&admin=1&score=9", score="9")
        assert Response.objects.get().properties == {"plan": "pro", "source": "app"}

    def test_the_edit_token_reopens_the_answer_for_24_hours(self) -> None:
        edit_url = self.post(self.public_url, score="6")["Location"]
        page = self.post(edit_url, score="8", comment="Better now")
        assert page.status_code == 303
        assert page["Location"].endswith("/thanks/")
        response = Response.objects.get()
        assert (response.score, response.comment) == (8, "Better now")
        thanks = self.text(self.client.get(page["Location"]))
        assert "Better now" in thanks
        assert "Change your answer" in thanks
        with time_machine.travel(timezone.now() + timedelta(hours=25)):
            assert self.client.get(edit_url).status_code == 410
            assert self.post(edit_url, score="1", comment="late").status_code == 410
        assert Response.objects.get().score == 8

    def test_an_edit_token_opens_only_its_own_survey(self) -> None:
        edit_token = self.post(self.public_url, score="6")["Location"].split("/")[-2]
        other = Survey.objects.create(workspace=self.workspace, name="Other")
        url = reverse("respond:public_comment", args=[other.public_id, edit_token])
        assert self.client.get(url).status_code == 404

    def test_a_double_submitted_form_is_one_answer_and_the_latest_score_wins(self) -> None:
        first = self.post(self.public_url, score="6")
        second = self.post(self.public_url, score="6")
        third = self.post(self.public_url, score="9")  # back button, another score, same form
        assert first["Location"] == second["Location"] == third["Location"]
        assert Response.objects.get().score == 9

    def test_no_session_or_csrf_cookie_is_set(self) -> None:
        edit_url = self.post(self.public_url, score="6")["Location"]
        for page in (self.client.get(self.public_url), self.client.get(edit_url)):
            assert "Set-Cookie" not in page.headers
        assert not self.client.cookies


class KioskTests(RespondTestCase):
    def test_a_kiosk_answer_stores_the_location_and_resets(self) -> None:
        page = self.post(self.kiosk_url, score="10")
        response = Response.objects.get()
        assert (response.channel, response.properties) == (Channel.KIOSK, {"location": "Helsinki"})
        follow_up = self.text(self.client.get(page["Location"]))
        assert (
            f'<noscript><meta http-equiv="refresh" content="90;url={self.kiosk_url}">' in follow_up
        )
        assert f'data-reset-url="{self.kiosk_url}"' in follow_up
        thanks_url = self.post(page["Location"], score="10", comment="Quick")["Location"]
        thanks = self.text(self.client.get(thanks_url))
        assert f'<meta http-equiv="refresh" content="6;url={self.kiosk_url}">' in thanks
        assert "Quick" not in thanks, "the next customer must not read the last comment"
        assert "Change your answer" not in thanks

    def test_the_next_customer_cannot_reopen_an_answer(self) -> None:
        edit_url = self.post(self.kiosk_url, score="3")["Location"]
        with time_machine.travel(timezone.now() + timedelta(minutes=11)):
            assert self.client.get(edit_url).status_code == 410

    def test_each_kiosk_form_is_a_new_answer(self) -> None:
        self.post(self.kiosk_url, score="3", nonce="a" * 22)
        self.post(self.kiosk_url, score="9", nonce="b" * 22)
        assert Response.objects.count() == 2

    def test_a_switched_off_kiosk_is_closed(self) -> None:
        KioskDevice.objects.filter(pk=self.kiosk.pk).update(is_active=False)
        assert self.client.get(self.kiosk_url).status_code == 410
        assert self.post(self.kiosk_url, score="9").status_code == 410
        assert Response.objects.count() == 0


class RateLimitTests(RespondTestCase):
    @override_settings(RATE_LIMIT_IP_PER_MINUTE=3)
    def test_one_address_is_limited_with_retry_after(self) -> None:
        statuses = [self.client.get(self.public_url).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        page = self.client.get(self.public_url)
        assert 1 <= int(page["Retry-After"]) <= 60
        assert "Too many requests" in self.text(page)
        other = self.client.get(self.public_url, REMOTE_ADDR="198.51.100.7")
        assert other.status_code == 200

    @override_settings(RATE_LIMIT_SURVEY_PER_MINUTE=2)
    def test_one_survey_is_limited_across_addresses(self) -> None:
        statuses = [
            self.client.post(
                self.public_url, {"score": "9", "nonce": f"{i:022d}"}, REMOTE_ADDR=f"198.51.100.{i}"
            ).status_code
            for i in range(3)
        ]
        assert statuses == [303, 303, 429]
        assert Response.objects.count() == 2

    @override_settings(RATE_LIMIT_IP_PER_MINUTE=2, RATE_LIMIT_SURVEY_PER_MINUTE=3)
    def test_a_client_over_its_own_limit_does_not_use_up_the_surveys(self) -> None:
        # The two limits are counted in one round trip, in turn: a refused client's
        # answers stop counting against the survey, so one address cannot close it.
        def answer(i: int, address: str) -> int:
            data = {"score": "9", "nonce": f"{i:022d}"}
            return int(self.client.post(self.public_url, data, REMOTE_ADDR=address).status_code)

        with time_machine.travel(timezone.now().replace(second=5), tick=True):
            assert [answer(i, "198.51.100.1") for i in range(5)] == [303, 303, 429, 429, 429]
            assert answer(5, "198.51.100.2") == 303, "the survey has had 3 answers counted"
            assert answer(6, "198.51.100.3") == 429, "and now it is full"
        assert Response.objects.count() == 3

    @override_settings(RATE_LIMIT_IP_PER_MINUTE=2)
    def test_posts_to_unknown_or_closed_links_count_against_the_client(self) -> None:
        Survey.objects.filter(pk=self.survey.pk).update(is_active=False)
        with time_machine.travel(timezone.now().replace(second=5), tick=True):
            unknown = self.client.post("/s/nosuchlink000/", {"score": "9"}).status_code
            closed = self.post(self.public_url, score="9").status_code
            assert (unknown, closed) == (404, 410)
            assert self.client.post("/s/nosuchlink000/", {"score": "9"}).status_code == 429
            assert self.client.get(self.public_url).status_code == 429


class AdminTests(RespondTestCase):
    def test_the_admin_lists_kiosks_and_answers_read_only(self) -> None:
        self.alice.is_staff = self.alice.is_superuser = True
        self.alice.save()
        self.login_as(self.alice)
        self.post(self.kiosk_url, score="8")
        kiosks = self.client.get(reverse("admin:responses_kioskdevice_changelist"))
        assert kiosks.status_code == 200
        assert self.kiosk_url in kiosks.content.decode()
        assert self.client.get(reverse("admin:responses_kioskdevice_add")).status_code == 200
        answers = self.client.get(reverse("admin:responses_response_changelist"))
        assert answers.status_code == 200
        assert self.client.get(reverse("admin:responses_response_add")).status_code == 403
        answer = Response.objects.get()
        assert answer.edit_token is not None
        page = self.client.get(reverse("admin:responses_response_change", args=[answer.pk]))
        assert page.status_code == 200
        assert answer.edit_token not in page.content.decode(), "the edit token stays hidden"
