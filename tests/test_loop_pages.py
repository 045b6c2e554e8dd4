"""The loop pages: inbox and board filters, the case page, actions, roles and outsiders."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.utils import timezone

from kaiku.loop import actions
from kaiku.loop.categories import categories
from kaiku.loop.models import (
    AlertDelivery,
    AlertPreference,
    Case,
    CaseReply,
    LoopSettings,
    ResolutionCategory,
)
from kaiku.responses.models import Response
from kaiku.surveys.models import Survey
from tests.test_loop_base import LoopTestCase

XSS = '<script>alert("x")</script> & more'


class PagesTestCase(LoopTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.support = Survey.objects.create(workspace=self.workspace, name="Support NPS")
        self.bobs = self.case_for(self.answer(2, XSS, contact=self.ann))
        actions.assign(self.bobs, self.bob, actor=self.alice)
        self.danas = self.case_for(self.answer(4, "Dana's", survey=self.support))
        actions.assign(self.danas, self.dana, actor=self.alice)
        self.free = self.case_for(self.answer(1, "Nobody's"))

    def url(self, case: Case, action: str = "") -> str:
        return f"/w/acme/cases/{case.pk}/" + (f"{action}/" if action else "")


class ListPagesTest(PagesTestCase):
    def test_my_cases_lists_mine_and_offers_the_unassigned_ones(self) -> None:
        self.login_as(self.bob)
        page = self.client.get("/w/acme/cases/")
        assert page.status_code == 200
        mine = page.context["page_obj"].object_list
        assert [c.pk for c in mine] == [self.bobs.pk]
        assert [c.pk for c in page.context["unassigned"]] == [self.free.pk]
        self.assertContains(page, f"/w/acme/cases/{self.free.pk}/take/")
        self.assertContains(page, 'aria-current="page">Cases<')  # the workspace nav

    def test_the_board_filters_by_status_assignee_survey_and_overdue(self) -> None:
        self.login_as(self.alice)

        def ids(query: str) -> set[int]:
            page = self.client.get("/w/acme/cases/board/?" + query)
            assert page.status_code == 200
            return {c.pk for c in page.context["page_obj"].object_list}

        everyone = {self.bobs.pk, self.danas.pk, self.free.pk}
        assert ids("") == everyone
        assert ids(f"assignee={self.bob.pk}") == {self.bobs.pk}
        assert ids("assignee=none") == {self.free.pk}
        assert ids("assignee=me") == set()
        assert ids(f"survey={self.support.pk}") == {self.danas.pk}
        actions.change_status(self.danas, "closed", actor=self.dana)
        assert ids("") == {self.bobs.pk, self.free.pk}  # active by default
        assert ids("status=closed") == {self.danas.pk}
        assert ids("status=all") == everyone
        assert ids("overdue=1") == set()
        with time_machine.travel(timezone.now() + timedelta(hours=49)):
            assert ids("overdue=1") == {self.bobs.pk, self.free.pk}
        assert ids("status=bogus&survey=x&assignee=<b>") == {self.bobs.pk, self.free.pk}

    def test_the_overview_and_preferences_pages_render_for_every_member(self) -> None:
        for user in (self.alice, self.bob, self.vic):
            self.login_as(user)
            assert self.client.get("/w/acme/cases/overview/?days=90").status_code == 200
            assert self.client.get("/w/acme/cases/alerts/").status_code == 200


class CasePageTest(PagesTestCase):
    def test_the_case_page_shows_answer_contact_history_and_timeline(self) -> None:
        earlier = Response.objects.create(
            workspace=self.workspace,
            survey=self.support,
            contact=self.ann,
            score=9,
            comment="Last year was great",
            channel="email",
            created_at=timezone.now() - timedelta(days=200),
        )
        actions.add_note(self.bobs, "Called, <b>no answer</b>", actor=self.bob)
        self.login_as(self.bob)
        page = self.client.get(self.url(self.bobs))
        assert page.status_code == 200
        html = page.content.decode()
        # The comment is text, never markup.
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more" in html
        assert "Called, &lt;b&gt;no answer&lt;/b&gt;" in html
        self.assertContains(page, 'data-testid="contact-properties"')
        self.assertContains(page, "account_owner")
        self.assertContains(page, "bob@example.org")
        history = [r.pk for r in page.context["history"]]
        assert history == [self.bobs.response_id, earlier.pk]
        self.assertContains(page, "Last year was great")
        kinds = [e["type"] for e in page.context["timeline"]]
        assert kinds == ["event", "event", "note"]  # opened, assigned, the note
        self.assertContains(page, "Assigned to bob@example.org")
        self.assertContains(page, "Send reply")

    def test_a_template_pre_fills_the_reply_in_the_customers_language(self) -> None:
        self.login_as(self.bob)
        page = self.client.get(self.url(self.bobs) + "?template=follow_up")
        self.assertContains(page, "Asiasi on työn alla")
        self.assertContains(page, "Hei Ann,")

    def test_an_agent_works_a_case_from_its_page(self) -> None:
        self.login_as(self.bob)
        case = self.bobs
        ok = self.client.post(self.url(case, "status"), {"status": "in_progress"})
        assert ok.status_code == 302
        assert ok["Location"] == self.url(case)
        self.client.post(self.url(case, "notes"), {"body": "Spoke to Ann"})
        reply = self.client.post(
            self.url(case, "replies"), {"subject": "Hello {name}", "body": "Sorry, {name}."}
        )
        assert reply.status_code == 302
        category = categories(self.workspace).get(key="service")
        self.client.post(self.url(case, "resolve"), {"category": category.pk})
        case.refresh_from_db()
        assert (case.status, case.category) == ("resolved", category)
        assert CaseReply.objects.get(case=case).subject == "Hello Ann"
        self.client.post(self.url(case, "reopen"))
        assert Case.objects.get(pk=case.pk).status == "open"
        page = self.client.get(self.url(case))
        kinds = [e["type"] for e in page.context["timeline"]]
        assert kinds.count("note") == 1
        assert kinds.count("reply") == 1

    def test_invalid_moves_are_explained_not_applied(self) -> None:
        self.login_as(self.bob)
        self.client.post(self.url(self.bobs, "status"), {"status": "closed"})
        page = self.client.post(self.url(self.bobs, "status"), {"status": "waiting"}, follow=True)
        self.assertContains(page, "cannot go from")
        assert Case.objects.get(pk=self.bobs.pk).status == "closed"
        empty = self.client.post(self.url(self.bobs, "replies"), {"subject": "", "body": ""})
        assert empty.status_code == 400

    def test_taking_an_unassigned_case(self) -> None:
        self.login_as(self.bob)
        self.client.post(self.url(self.free, "take"))
        assert Case.objects.get(pk=self.free.pk).assignee == self.bob


class RolesTest(PagesTestCase):
    ACTIONS = ("status", "notes", "replies", "resolve", "reopen", "assign", "take")

    def test_an_agent_cannot_work_someone_elses_case_but_can_read_it(self) -> None:
        self.login_as(self.bob)
        page = self.client.get(self.url(self.danas))
        assert page.status_code == 200
        self.assertNotContains(page, "Add note")
        for action in self.ACTIONS:
            assert self.client.post(self.url(self.danas, action)).status_code == 403, action
        assert Case.objects.get(pk=self.danas.pk).assignee == self.dana

    def test_a_viewer_reads_everything_and_changes_nothing(self) -> None:
        self.login_as(self.vic)
        page = self.client.get(self.url(self.free))
        assert page.status_code == 200
        self.assertNotContains(page, "Send reply")
        for action in self.ACTIONS:
            assert self.client.post(self.url(self.free, action)).status_code == 403, action
        assert self.client.get("/w/acme/cases/board/").status_code == 200
        assert (
            self.client.get(f"/w/acme/cases/surveys/{self.survey.pk}/settings/").status_code == 403
        )
        assert self.client.get("/w/acme/cases/categories/").status_code == 403

    def test_admins_work_every_case(self) -> None:
        self.login_as(self.dana)
        self.client.post(self.url(self.bobs, "notes"), {"body": "Helping out"})
        assert self.bobs.notes.count() == 1

    def test_get_on_an_action_is_405_for_members(self) -> None:
        self.login_as(self.alice)
        assert self.client.get(self.url(self.bobs, "status")).status_code == 405

    def test_charlie_gets_404_everywhere(self) -> None:
        paths = [
            "/w/acme/cases/",
            "/w/acme/cases/board/",
            "/w/acme/cases/overview/",
            "/w/acme/cases/alerts/",
            "/w/acme/cases/categories/",
            f"/w/acme/cases/surveys/{self.survey.pk}/settings/",
            self.url(self.bobs),
        ]
        for path in paths:
            self.assertRefusedToOutsider(path)
        for action in self.ACTIONS:
            self.assertRefusedToOutsider(self.url(self.bobs, action), "post")
        # Acme's case id under Charlie's own workspace is still nothing.
        self.client.force_login(self.charlie)
        assert self.client.get(f"/w/globex/cases/{self.bobs.pk}/").status_code == 404
        assert self.client.post(f"/w/globex/cases/{self.bobs.pk}/notes/").status_code == 404


class SettingsPagesTest(LoopTestCase):
    def test_an_admin_sets_a_surveys_rules(self) -> None:
        self.login_as(self.dana)
        url = f"/w/acme/cases/surveys/{self.survey.pk}/settings/"
        self.assertContains(self.client.get(url), "Open a case for")
        bob = self.membership(self.bob)
        saved = self.client.post(
            url,
            {
                "enabled": "on",
                "open_for_detractors": "on",
                "keywords_text": "refund, cancel\nhinta",
                "score_drop": "3",
                "assignment": "round_robin",
                "assignees": [bob.pk],
                "sla_hours": "24",
                "resurvey_days": "30",
                "promoter_action": "none",
            },
        )
        assert saved.status_code == 302
        settings = LoopSettings.objects.get(survey=self.survey)
        assert settings.keywords == ["refund", "cancel", "hinta"]
        assert (settings.score_drop, settings.sla_hours, settings.resurvey_days) == (3, 24, 30)
        assert list(settings.assignees.all()) == [bob]

    def test_bad_settings_are_refused_with_reasons(self) -> None:
        self.login_as(self.alice)
        url = f"/w/acme/cases/surveys/{self.survey.pk}/settings/"
        page = self.client.post(
            url,
            {
                "assignment": "property",
                "promoter_action": "review",
                "slack_webhook_url": "http://127.0.0.1:9/hook",
            },
        )
        assert page.status_code == 400
        self.assertContains(page, "private or local network", status_code=400)
        self.assertContains(page, "The promoter email needs a link.", status_code=400)
        assert not LoopSettings.objects.exists()

    def test_an_agent_cannot_change_rules_or_categories(self) -> None:
        self.login_as(self.bob)
        assert (
            self.client.get(f"/w/acme/cases/surveys/{self.survey.pk}/settings/").status_code == 403
        )
        assert self.client.post("/w/acme/cases/categories/", {"name": "X"}).status_code == 403

    def test_the_categories_editor(self) -> None:
        self.login_as(self.alice)
        self.assertContains(self.client.get("/w/acme/cases/categories/"), "Product issue")
        self.client.post("/w/acme/cases/categories/", {"name": "Onboarding"})
        added = ResolutionCategory.objects.get(workspace=self.workspace, name="Onboarding")
        edit = f"/w/acme/cases/categories/{added.pk}/"
        self.client.post(edit, {"action": "rename", "name": "First weeks"})
        self.client.post(edit, {"action": "retire"})
        added.refresh_from_db()
        assert (added.name, added.is_active) == ("First weeks", False)

    def test_a_member_saves_their_alert_preferences_and_sees_their_log(self) -> None:
        self.login_as(self.bob)
        page = self.client.get("/w/acme/cases/alerts/")
        assert page.context["form"].initial["drop_email"] is False  # an agent's default
        self.client.post("/w/acme/cases/alerts/", {"new_case_email": "on", "digest": "on"})
        pref = AlertPreference.objects.get(membership=self.membership(self.bob))
        assert (pref.new_case_email, pref.overdue_email, pref.digest) == (True, False, True)
        AlertDelivery.objects.create(
            workspace=self.workspace,
            recipient=self.bob,
            kind="new_case",
            channel="email",
            target="bob@example.org",
            status="failed",
            error="550 mailbox full",
        )
        self.assertContains(self.client.get("/w/acme/cases/alerts/"), "550 mailbox full")

    def test_the_survey_follow_up_tab_links_to_the_case_rules(self) -> None:
        self.login_as(self.alice)
        page = self.client.get(f"/w/acme/surveys/{self.survey.pk}/follow-up/")
        self.assertContains(page, f"/w/acme/cases/surveys/{self.survey.pk}/settings/")
