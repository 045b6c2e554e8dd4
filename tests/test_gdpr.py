"""GDPR erase, contact export and the retention job."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import time_machine
from django.db import connection
from django.utils import timezone

from kaiku.contacts.models import Contact
from kaiku.loop.models import Case, CaseNote, CaseReply
from kaiku.metrics.counts import NpsCounts
from kaiku.metrics.nps import nps
from kaiku.responses.models import Channel, Response
from kaiku.surveys.models import Invitation
from kaiku.transfer.gdpr import (
    apply_retention,
    apply_retention_everywhere,
    erase_contact,
    export_contact,
    months_before,
)
from kaiku.transfer.models import AuditAction, AuditLog, WorkspaceDataPolicy
from tests.base import BaseTestCase
from tests.test_api_base import ApiTestCase

EMAIL = "maija.meikalainen@example.fi"


def scores(survey_id: int) -> list[int]:
    return sorted(Response.objects.filter(survey_id=survey_id).values_list("score", flat=True))


def database_text() -> str:
    """Every row of every Kaiku table, as text: where a leaked email would show."""
    chunks: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            if table.startswith(("django_", "auth_")) or table == "kaiku_cache":
                continue
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (table names from introspection)
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


class MaijaTestCase(BaseTestCase):
    """Maija: a contact with answers (one with a comment and identifying properties),
    an invitation and a case with a note and an emailed reply."""

    maija: Contact
    other: Contact

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.maija = Contact.objects.create(
            workspace=cls.workspace,
            email=EMAIL,
            name="Maija Meikäläinen",
            phone="+358401234567",
            external_id="crm-4242",
            properties={"plan": "pro", "country": "FI", "company_email": "billing@acme.fi"},
        )
        cls.other = Contact.objects.create(workspace=cls.workspace, email="other@example.org")
        invitation = Invitation.objects.create(
            workspace=cls.workspace, survey=cls.survey, contact=cls.maija
        )
        base = {"workspace": cls.workspace, "survey": cls.survey, "channel": Channel.EMAIL}
        Response.objects.create(
            **base,
            contact=cls.maija,
            invitation=invitation,
            score=3,
            comment="Maija here, call me on +358401234567",
            source_ref="zendesk:991",
            idempotency_key="import:delighted:1001",
            properties={
                "plan": "pro",
                "country": "FI",
                "email": EMAIL,
                "note": "Customer Maija Meikäläinen asked",
                "userId": "crm-4242",
            },
        )
        Response.objects.create(**base, contact=cls.maija, score=10, properties={"plan": "pro"})
        Response.objects.create(**base, contact=cls.other, score=9, comment="Fine")
        detractor = Response.objects.get(contact=cls.maija, score=3)
        case = Case.objects.create(
            workspace=cls.workspace, survey=cls.survey, response=detractor, contact=cls.maija,
            reason="detractor", reason_detail="Maija here", score=3,
        )  # fmt: skip
        CaseNote.objects.create(case=case, author=cls.bob, body="Maija Meikäläinen wants a refund")
        CaseReply.objects.create(
            case=case, author=cls.bob, to_email=EMAIL, language="fi", subject="Re", body="Hei Maija"
        )


class EraseContactTest(MaijaTestCase):
    def test_it_keeps_nps_identical(self) -> None:
        before = nps(NpsCounts.from_scores(scores(self.survey.pk)))
        erase_contact(self.maija, actor=self.alice)
        assert nps(NpsCounts.from_scores(scores(self.survey.pk))) == before
        assert Response.objects.filter(survey=self.survey).count() == 3

    def test_it_removes_every_personal_field(self) -> None:
        erase_contact(self.maija, actor=self.alice)
        assert not Contact.objects.filter(pk=self.maija.pk).exists()
        assert not Invitation.objects.filter(contact_id=self.maija.pk).exists()
        text = database_text()
        gone = (EMAIL, "Meikäläinen", "358401234567", "crm-4242", "zendesk:991", "delighted:1001")
        for secret in gone:
            assert secret not in text, secret

    def test_it_keeps_segment_properties(self) -> None:
        erase_contact(self.maija, actor=self.alice)
        kept = Response.objects.filter(survey=self.survey, contact=None).order_by("score")
        assert [r.properties for r in kept] == [{"plan": "pro", "country": "FI"}, {"plan": "pro"}]
        assert {r.comment for r in kept} == {""}
        keys = [r.idempotency_key for r in kept]
        assert all(key is None or key.startswith("erased:") for key in keys)

    def test_a_case_stays_without_what_it_said_about_the_person(self) -> None:
        erase_contact(self.maija, actor=self.alice)
        case = Case.objects.get()
        assert (case.contact, case.reason_detail, case.score) == (None, "", 3)
        assert not CaseNote.objects.exists()
        assert not CaseReply.objects.exists()

    def test_it_leaves_other_contacts_alone(self) -> None:
        erase_contact(self.maija, actor=self.alice)
        answer = Response.objects.get(contact=self.other)
        assert answer.comment == "Fine"

    def test_it_writes_an_audit_entry_without_the_personal_data(self) -> None:
        erase_contact(self.maija, actor=self.alice)
        entry = AuditLog.objects.get(action=AuditAction.CONTACT_ERASED)
        assert entry.workspace == self.workspace
        assert entry.user == self.alice
        assert entry.object_id == str(self.maija.pk)
        assert entry.details == {"responses": 2, "invitations": 1, "cases": 1, "inbound_events": 0}
        assert EMAIL not in str(entry.details)

    def test_it_is_safe_to_run_twice(self) -> None:
        erase_contact(self.maija, actor="system")
        again = erase_contact(self.maija, actor="system")
        assert again.responses == 0
        assert AuditLog.objects.filter(action=AuditAction.CONTACT_ERASED).count() == 1

    def test_edited_at_moves_for_api_sync(self) -> None:
        past = timezone.now() - timedelta(days=1)
        Response.objects.filter(contact=self.maija).update(updated_at=past)
        erase_contact(self.maija, actor=None)
        assert not Response.objects.filter(contact=None, updated_at__lte=past).exists()


class ExportContactTest(MaijaTestCase):
    """Everything Kaiku holds about one person, as JSON (and the same through the API)."""

    def test_it_holds_the_contact_answers_invitations_and_cases(self) -> None:
        data = export_contact(self.maija, actor=self.alice)
        assert data["contact"]["email"] == EMAIL
        assert data["contact"]["properties"]["plan"] == "pro"
        assert sorted(r["score"] for r in data["responses"]) == [3, 10]
        answer = next(r for r in data["responses"] if r["score"] == 3)
        assert answer["comment"] == "Maija here, call me on +358401234567"
        assert answer["survey"] == "Relationship NPS"
        assert answer["created_at"].endswith("Z")
        assert [i["survey"] for i in data["invitations"]] == ["Relationship NPS"]
        assert data["cases"][0]["notes"][0]["body"] == "Maija Meikäläinen wants a refund"
        assert data["cases"][0]["replies"][0]["to_email"] == EMAIL
        assert data["inbound_events"] == []
        json.dumps(data)  # JSON-ready as it is
        entry = AuditLog.objects.get(action=AuditAction.CONTACT_EXPORTED)
        assert (entry.user, entry.object_id) == (self.alice, str(self.maija.pk))

    def test_the_page_downloads_it_and_erases_after_a_confirmation(self) -> None:
        self.login_as(self.alice)
        base = f"/w/acme/contacts/{self.maija.pk}"
        detail = self.client.get(f"{base}/")
        self.assertContains(detail, f"{base}/gdpr-export/")
        self.assertContains(detail, f"{base}/erase/")
        download = self.client.get(f"{base}/gdpr-export/")
        assert (
            download["Content-Disposition"]
            == f'attachment; filename="contact-{self.maija.pk}.json"'
        )
        assert json.loads(download.content)["contact"]["email"] == EMAIL
        assert self.client.post(f"{base}/gdpr-export/").status_code == 405
        confirm = self.client.get(f"{base}/erase/")
        self.assertContains(confirm, "Erase for good")
        assert Contact.objects.filter(pk=self.maija.pk).exists()  # a GET changes nothing
        response = self.client.post(f"{base}/erase/")
        self.assertRedirects(response, "/w/acme/contacts/")
        assert not Contact.objects.filter(pk=self.maija.pk).exists()

    def test_agents_cannot_and_outsiders_see_nothing(self) -> None:
        base = f"/w/acme/contacts/{self.maija.pk}"
        self.login_as(self.bob)
        detail = self.client.get(f"{base}/")
        self.assertNotContains(detail, f"{base}/erase/")
        assert self.client.get(f"{base}/gdpr-export/").status_code == 403
        assert self.client.post(f"{base}/erase/").status_code == 403
        for url in (f"{base}/gdpr-export/", f"{base}/erase/"):
            self.assertRefusedToOutsider(url)
            self.assertRefusedToOutsider(url, "post")
        self.client.force_login(self.charlie)
        assert self.client.post(f"/w/globex/contacts/{self.maija.pk}/erase/").status_code == 404
        assert Contact.objects.filter(pk=self.maija.pk).exists()


class GdprApiTest(ApiTestCase):
    maija: Contact

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.maija = Contact.objects.create(workspace=cls.workspace, email=EMAIL, name="Maija")
        Response.objects.create(
            workspace=cls.workspace, survey=cls.survey, channel=Channel.API, contact=cls.maija,
            score=8, comment="ok", properties={"plan": "pro", "email": EMAIL},
        )  # fmt: skip

    def test_erase_with_a_read_write_key_reports_the_counts(self) -> None:
        response = self.api_post(f"/contacts/{self.maija.pk}/erase", {})
        assert response.status_code == 200, response.content
        assert response.json() == {
            "contact_id": self.maija.pk,
            "responses_anonymised": 1,
            "invitations_deleted": 0,
        }
        answer = Response.objects.get()
        assert (answer.contact, answer.comment, answer.properties) == (None, "", {"plan": "pro"})
        entry = AuditLog.objects.get(action=AuditAction.CONTACT_ERASED)
        assert (entry.api_key, entry.actor_type) == (self.write_key, "api_key")
        again = self.api_post(f"/contacts/{self.maija.pk}/erase", {})
        self.assertApiError(again, 404, "not_found")

    def test_a_read_key_may_export_but_not_erase(self) -> None:
        refused = self.api_post(f"/contacts/{self.maija.pk}/erase", {}, token=self.read_token)
        self.assertApiError(refused, 403, "forbidden")
        assert Contact.objects.filter(pk=self.maija.pk).exists()
        exported = self.api_get(f"/contacts/{self.maija.pk}/export")
        assert exported.status_code == 200
        assert exported.json()["contact"]["email"] == EMAIL

    def test_another_workspaces_key_gets_404(self) -> None:
        for response in (
            self.api_post(f"/contacts/{self.maija.pk}/erase", {}, token=self.charlies_token),
            self.api_get(f"/contacts/{self.maija.pk}/export", token=self.charlies_token),
        ):
            self.assertApiError(response, 404, "not_found")
        assert Contact.objects.filter(pk=self.maija.pk).exists()
        assert not AuditLog.objects.exists()


class RetentionTest(BaseTestCase):
    def setUp(self) -> None:
        self.old_contact = Contact.objects.create(
            workspace=self.workspace, email="old@example.fi", name="Vanha",
            created_at=datetime(2023, 1, 5, tzinfo=UTC),
        )  # fmt: skip
        self.active = Contact.objects.create(
            workspace=self.workspace, email="active@example.fi",
            created_at=datetime(2023, 1, 5, tzinfo=UTC),
        )  # fmt: skip
        base = {"workspace": self.workspace, "survey": self.survey, "channel": Channel.EMAIL}
        for contact, when, score in (
            (self.old_contact, datetime(2023, 2, 1, tzinfo=UTC), 2),
            (self.active, datetime(2023, 3, 1, tzinfo=UTC), 9),
            (self.active, datetime(2025, 5, 1, tzinfo=UTC), 10),
        ):
            Response.objects.create(
                **base, contact=contact, score=score, created_at=when, comment=f"said {score}",
                properties={"plan": "pro", "email": contact.email}, idempotency_key=f"k{score}",
            )  # fmt: skip
        Contact.objects.filter(pk__in=[self.old_contact.pk, self.active.pk]).update(
            updated_at=datetime(2023, 3, 1, tzinfo=UTC)
        )

    def test_without_a_policy_nothing_happens(self) -> None:
        assert apply_retention(self.workspace) is None
        assert Response.objects.exclude(comment="").count() == 3

    @time_machine.travel(datetime(2025, 6, 15, 3, 0, tzinfo=UTC), tick=False)
    def test_old_answers_lose_personal_data_and_stale_contacts_go(self) -> None:
        WorkspaceDataPolicy.objects.create(workspace=self.workspace, retention_months=12)
        before = nps(NpsCounts.from_scores(scores(self.survey.pk)))
        result = apply_retention_everywhere()
        assert [(slug, r.responses, r.contacts) for slug, r in result] == [("acme", 2, 1)]
        assert result[0][1].cutoff == datetime(2024, 6, 15, 3, 0, tzinfo=UTC)
        assert nps(NpsCounts.from_scores(scores(self.survey.pk))) == before
        old = Response.objects.filter(created_at__lt=datetime(2024, 6, 15, tzinfo=UTC))
        assert {(r.contact_id, r.comment) for r in old} == {(None, "")}
        assert all(r.properties == {"plan": "pro"} for r in old)
        recent = Response.objects.get(score=10)
        assert (recent.contact, recent.comment) == (self.active, "said 10")
        assert not Contact.objects.filter(email="old@example.fi").exists()
        assert Contact.objects.filter(email="active@example.fi").exists()
        entry = AuditLog.objects.get(action=AuditAction.RETENTION_APPLIED)
        assert (entry.actor_label, entry.details["responses"], entry.details["contacts"]) == (
            "system",
            2,
            1,
        )

    def test_it_is_safe_to_run_every_night(self) -> None:
        WorkspaceDataPolicy.objects.create(workspace=self.workspace, retention_months=12)
        with time_machine.travel(datetime(2025, 6, 15, tzinfo=UTC), tick=False):
            apply_retention(self.workspace)
        with time_machine.travel(datetime(2025, 6, 16, tzinfo=UTC), tick=False):
            second = apply_retention(self.workspace)
        assert second is not None
        assert (second.responses, second.contacts) == (0, 0)
        assert AuditLog.objects.filter(action=AuditAction.RETENTION_APPLIED).count() == 1
        # A month later the 2025-05 answer is still inside the 12 months.
        with time_machine.travel(datetime(2026, 5, 2, tzinfo=UTC), tick=False):
            third = apply_retention(self.workspace)
        assert third is not None
        assert third.responses == 1
        assert Response.objects.exclude(comment="").count() == 0

    def test_months_are_calendar_months(self) -> None:
        assert months_before(datetime(2025, 3, 31, tzinfo=UTC), 1) == datetime(
            2025, 2, 28, tzinfo=UTC
        )
        assert months_before(datetime(2025, 1, 15, tzinfo=UTC), 13) == datetime(
            2023, 12, 15, tzinfo=UTC
        )

    def test_the_daily_job_is_registered(self) -> None:
        from kaiku.lib.periodic import autodiscover, registered

        autodiscover()
        job = next(j for j in registered() if j.name == "transfer.retention")
        assert job.every == timedelta(days=1)

    def test_owners_set_the_period_on_the_privacy_page(self) -> None:
        self.login_as(self.alice)
        response = self.client.post("/w/acme/privacy/", {"retention_months": "18"})
        self.assertRedirects(response, "/w/acme/privacy/")
        assert WorkspaceDataPolicy.objects.get(workspace=self.workspace).retention_months == 18
        bad = self.client.post("/w/acme/privacy/", {"retention_months": "0"})
        assert bad.status_code == 400
        entry = AuditLog.objects.get(action=AuditAction.RETENTION_CHANGED)
        assert entry.details == {"retention_months": 18}
        self.login_as(self.bob)
        assert self.client.get("/w/acme/privacy/").status_code == 403
        self.assertRefusedToOutsider("/w/acme/privacy/")
        self.assertRefusedToOutsider("/w/acme/privacy/", "post")
