"""record_response(), upsert_contact() and the process_response job."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.test import RequestFactory, override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from kaiku.contacts.actions import upsert_contact
from kaiku.contacts.models import Contact
from kaiku.lib.ratelimit import client_ip, hit
from kaiku.lib.tasks import drain_all_outboxes
from kaiku.responses.actions import AnswerRejected, record_response
from kaiku.responses.language import detect_comment_language
from kaiku.responses.models import Channel, ProcessingOutbox, Response
from kaiku.responses.pages import PAGE_BACKGROUND, contrast, palette, score_group
from kaiku.responses.tasks import process_response
from kaiku.surveys.models import Invitation, InvitationStatus, Kind, Survey
from tests.base import BaseTestCase
from tests.smtp import IMMEDIATE_TASKS

FINNISH = "Asiakaspalvelu oli todella hidasta ja hinnat ovat liian korkeita"


class RecordResponseTestCase(BaseTestCase):
    contact: Contact
    invitation: Invitation

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
            properties={"ticket": "T-1"},
        )

    def record(self, **kwargs: Any) -> Any:
        kwargs.setdefault("survey", self.survey)
        kwargs.setdefault("channel", Channel.LINK)
        return record_response(**kwargs)

    def assertRejected(self, field: str, code: str = "invalid", **kwargs: Any) -> None:
        before = Response.objects.count()
        with pytest.raises(AnswerRejected) as caught:
            self.record(**kwargs)
        assert caught.value.field == field
        assert caught.value.code == code
        assert str(caught.value.message)
        assert Response.objects.count() == before, "a rejected answer stored nothing"


class ValidationTests(RecordResponseTestCase):
    def test_it_records_an_answer_with_the_survey_scale_and_language(self) -> None:
        recorded = self.record(score=9, comment="Great")
        response = recorded.response
        assert recorded.created
        assert (response.score, response.scale_min, response.scale_max) == (9, 0, 10)
        assert response.workspace_id == self.workspace.pk
        assert response.language == "en"
        assert response.comment == "Great"

    def test_it_refuses_scores_outside_the_scale(self) -> None:
        self.assertRejected("score", score=11)
        self.assertRejected("score", score=-1)
        csat = Survey.objects.create(workspace=self.workspace, name="CSAT", kind=Kind.CSAT)
        self.assertRejected("score", survey=csat, score=0)
        self.assertRejected("score", survey=csat, score=6)

    def test_it_refuses_scores_that_are_not_whole_numbers(self) -> None:
        for bad in ("9", 9.0, True, None, [9]):
            with self.subTest(score=bad):
                self.assertRejected("score", score=bad)

    def test_it_refuses_a_comment_longer_than_5000_characters(self) -> None:
        self.assertRejected("comment", score=5, comment="x" * 5001)
        assert len(self.record(score=5, comment="x" * 5000).response.comment) == 5000

    def test_it_strips_control_characters_but_keeps_lines_and_tabs(self) -> None:
        response = self.record(
            score=3,
            comment="Bad\x00 service\x1b[31m\r\nSecond\tline\x7f",
            properties={"pl\x00an": "pro\x07\n"},
        ).response
        assert response.comment == "Bad service[31m\nSecond\tline"
        assert response.properties == {"plan": "pro"}

    def test_it_refuses_properties_out_of_bounds(self) -> None:
        self.assertRejected("properties", score=5, properties={f"k{i}": i for i in range(51)})
        self.assertRejected("properties", score=5, properties={"plan": "x" * 501})
        self.assertRejected("properties", score=5, properties={"nested": {"a": 1}})
        self.assertRejected("properties", score=5, properties={"ratio": math.nan})
        self.assertRejected("properties", score=5, properties=["plan"])

    def test_it_refuses_an_unknown_channel(self) -> None:
        self.assertRejected("channel", score=5, channel="carrier-pigeon")

    def test_it_refuses_an_inactive_survey_except_for_imports(self) -> None:
        Survey.objects.filter(pk=self.survey.pk).update(is_active=False)
        self.survey.refresh_from_db()
        self.assertRejected("survey", code="inactive", score=5)
        assert self.record(score=5, channel=Channel.IMPORT).created

    def test_backfilled_times_may_be_past_but_not_future(self) -> None:
        past = timezone.now() - timedelta(days=400)
        assert self.record(score=8, created_at=past).response.created_at == past
        self.assertRejected("created_at", score=8, created_at=timezone.now() + timedelta(hours=1))
        self.assertRejected("created_at", score=8, created_at=datetime(2026, 1, 1))
        soon = timezone.now() + timedelta(minutes=2)  # client clock skew is tolerated
        assert self.record(score=8, created_at=soon).created


class WorkspaceIsolationTests(RecordResponseTestCase):
    def test_charlies_contact_cannot_answer_acmes_survey(self) -> None:
        outsider = Contact.objects.create(workspace=self.charlies_workspace, email="e@globex.test")
        self.assertRejected("contact", score=5, contact=outsider)

    def test_charlies_invitation_cannot_answer_acmes_survey(self) -> None:
        globex_survey = Survey.objects.create(workspace=self.charlies_workspace, name="G")
        outsider = Contact.objects.create(workspace=self.charlies_workspace, email="e@globex.test")
        invitation = Invitation.objects.create(
            workspace=self.charlies_workspace, survey=globex_survey, contact=outsider
        )
        self.assertRejected("invitation", score=5, invitation=invitation, channel=Channel.EMAIL)

    def test_an_invitation_answers_only_its_own_survey(self) -> None:
        other = Survey.objects.create(workspace=self.workspace, name="Other")
        self.assertRejected("invitation", survey=other, score=5, invitation=self.invitation)

    def test_the_contact_must_match_the_invitation(self) -> None:
        someone = Contact.objects.create(workspace=self.workspace, email="eve@example.org")
        self.assertRejected("contact", score=5, invitation=self.invitation, contact=someone)


class SnapshotTests(RecordResponseTestCase):
    def test_properties_are_a_snapshot_at_answer_time(self) -> None:
        response = self.record(
            score=4, invitation=self.invitation, properties={"ticket": "T-2", "agent": "Ann"}
        ).response
        expected = {"plan": "pro", "ticket": "T-2", "agent": "Ann"}
        assert response.properties == expected
        upsert_contact(self.workspace, email="dana@example.org", properties={"plan": "free"})
        response.refresh_from_db()
        assert response.properties == expected, "a later contact edit moved a segment"
        assert response.contact_id == self.contact.pk

    def test_the_invitation_properties_override_the_contacts(self) -> None:
        Invitation.objects.filter(pk=self.invitation.pk).update(properties={"plan": "trial"})
        self.invitation.refresh_from_db()
        response = self.record(score=4, invitation=self.invitation).response
        assert response.properties == {"plan": "trial"}


class OneResponseTests(RecordResponseTestCase):
    def test_the_latest_score_wins_for_an_invitation(self) -> None:
        first = self.record(score=9, invitation=self.invitation, comment="Nice", channel="email")
        with time_machine.travel(timezone.now() + timedelta(hours=1)):
            second = self.record(score=6, invitation=self.invitation, channel="email")
        assert first.created
        assert not second.created
        assert second.response.pk == first.response.pk
        response = Response.objects.get()
        assert response.score == 6
        assert response.comment == "Nice", "comment=None keeps the stored comment"
        invitation = Invitation.objects.get(pk=self.invitation.pk)
        assert invitation.status == InvitationStatus.RESPONDED
        assert invitation.responded_at == first.response.created_at

    def test_an_invitation_answer_closes_after_24_hours(self) -> None:
        self.record(score=9, invitation=self.invitation)
        with time_machine.travel(timezone.now() + timedelta(hours=25)):
            self.assertRejected("invitation", code="closed", score=3, invitation=self.invitation)
        assert Response.objects.get().score == 9

    def test_an_idempotent_retry_returns_the_same_response_unchanged(self) -> None:
        first = self.record(score=9, idempotency_key="req-1", comment="First")
        retry = self.record(score=2, idempotency_key="req-1", comment="Different payload")
        assert not retry.created
        assert retry.response.pk == first.response.pk
        assert (retry.response.score, retry.response.comment) == (9, "First")
        assert Response.objects.count() == 1

    def test_idempotency_keys_are_per_workspace(self) -> None:
        globex = Survey.objects.create(workspace=self.charlies_workspace, name="G")
        self.record(score=9, idempotency_key="same")
        assert self.record(survey=globex, score=9, idempotency_key="same").created

    def test_anonymous_answers_get_an_edit_token_for_24_hours(self) -> None:
        response = self.record(score=9).response
        assert len(response.edit_token or "") >= 32
        edited = self.record(score=7, comment="Changed", edit_token=response.edit_token)
        assert not edited.created
        assert (edited.response.score, edited.response.comment) == (7, "Changed")
        with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
            self.assertRejected(
                "edit_token", code="closed", score=1, edit_token=response.edit_token
            )
        assert Response.objects.get().score == 7

    def test_api_answers_have_no_edit_token(self) -> None:
        assert self.record(score=9, channel=Channel.API).response.edit_token is None

    def test_an_unknown_edit_token_is_refused(self) -> None:
        self.assertRejected("edit_token", code="unknown", score=1, edit_token="nope")

    def test_an_edit_token_only_opens_its_own_survey(self) -> None:
        token = self.record(score=9).response.edit_token
        other = Survey.objects.create(workspace=self.workspace, name="Other")
        self.assertRejected("edit_token", code="unknown", survey=other, score=1, edit_token=token)


class SideEffectTests(RecordResponseTestCase):
    def test_processing_is_queued_in_the_answers_transaction(self) -> None:
        # The database queue: the outbox row is written in the answer's own
        # transaction, so workers see both at the commit, or neither.
        with self.captureOnCommitCallbacks() as callbacks:
            response = self.record(score=3, comment=FINNISH).response
        assert callbacks == [], "no separate enqueue after the commit"
        assert list(ProcessingOutbox.objects.values_list("response", flat=True)) == [response.pk]
        assert drain_all_outboxes() == 1
        job = DBTaskResult.objects.get()
        assert job.task_path == "kaiku.responses.tasks.process_response"
        assert job.args_kwargs["args"] == [response.pk]

    def test_a_rolled_back_answer_leaves_no_job(self) -> None:
        with (
            mock.patch("kaiku.responses.actions.emit_response_event", side_effect=DatabaseError),
            pytest.raises(DatabaseError),
        ):
            self.record(score=3, comment=FINNISH)
        assert not ProcessingOutbox.objects.exists()
        assert not DBTaskResult.objects.exists()
        assert not Response.objects.exists()

    @override_settings(TASKS=IMMEDIATE_TASKS)
    def test_another_queue_is_given_the_job_only_after_commit(self) -> None:
        with self.captureOnCommitCallbacks() as callbacks:
            response = self.record(score=3, comment=FINNISH).response
        response.refresh_from_db()
        assert response.comment_language == "", "the job ran before the commit"
        assert len(callbacks) == 1
        callbacks[0]()
        response.refresh_from_db()
        assert response.comment_language == "fi"

    def test_an_unchanged_resubmission_queues_nothing(self) -> None:
        self.record(score=3, invitation=self.invitation)
        token = self.record(score=8).response.edit_token
        with self.captureOnCommitCallbacks() as callbacks:
            self.record(score=3, invitation=self.invitation)  # a double click
            self.record(score=8, edit_token=token)
        assert callbacks == []

    def test_the_job_detects_the_comment_language(self) -> None:
        response = self.record(score=3, comment=FINNISH, language="en").response
        process_response.call(response.pk)
        process_response.call(response.pk)  # safe to run twice
        response.refresh_from_db()
        assert (response.language, response.comment_language) == ("en", "fi")

    def test_the_job_keeps_the_survey_language_for_short_comments(self) -> None:
        response = self.record(score=3, comment="hyvä", language="et").response
        process_response.call(response.pk)
        response.refresh_from_db()
        assert response.comment_language == "et"

    def test_the_job_returns_quietly_when_the_response_is_gone(self) -> None:
        response = self.record(score=3, comment=FINNISH).response
        Response.objects.filter(pk=response.pk).delete()
        assert process_response.call(response.pk) is None

    def test_detection_is_restricted_to_the_workspace_languages(self) -> None:
        assert detect_comment_language(FINNISH, ["en", "fi", "et"], "en") == "fi"
        assert detect_comment_language(FINNISH, ["en", "et"], "en") == "et"
        assert detect_comment_language(FINNISH, ["en"], "en") == "en"
        english = "The support team was quick and friendly"
        assert detect_comment_language(english, ["en", "fi", "et"], "fi") == "en"


class UpsertContactTests(BaseTestCase):
    def test_it_creates_then_finds_by_email_case_insensitively(self) -> None:
        first = upsert_contact(self.workspace, email="Dana@Example.org", name="Dana")
        again = upsert_contact(self.workspace, email="dana@EXAMPLE.org", language="fi-FI")
        assert first.pk == again.pk
        assert (again.email, again.name, again.language) == ("dana@example.org", "Dana", "fi")

    def test_it_finds_by_external_id_first_and_merges_properties(self) -> None:
        upsert_contact(self.workspace, external_id="42", properties={"plan": "pro"})
        contact = upsert_contact(
            self.workspace, external_id="42", email="d@example.org", properties={"seats": 5}
        )
        assert Contact.objects.count() == 1
        assert contact.properties == {"plan": "pro", "seats": 5}
        assert contact.email == "d@example.org"

    def test_an_email_stays_with_the_contact_that_has_another_external_id(self) -> None:
        owner = upsert_contact(self.workspace, external_id="1", email="d@example.org")
        claimer = upsert_contact(self.workspace, external_id="2", email="d@example.org")
        assert owner.pk != claimer.pk
        assert claimer.email is None
        assert Contact.objects.get(pk=owner.pk).email == "d@example.org"

    def test_contacts_are_per_workspace(self) -> None:
        acme = upsert_contact(self.workspace, email="d@example.org")
        globex = upsert_contact(self.charlies_workspace, email="d@example.org")
        assert acme.pk != globex.pk

    def test_it_refuses_bad_input_and_writes_nothing(self) -> None:
        for kwargs in (
            {},
            {"email": "not-an-email"},
            {"external_id": "x" * 129},
            {"email": "d@example.org", "properties": {"k": {"nested": 1}}},
        ):
            with self.subTest(**kwargs), pytest.raises(ValidationError):
                upsert_contact(self.workspace, **kwargs)
        assert not Contact.objects.exists()

    def test_merged_properties_stay_within_bounds(self) -> None:
        upsert_contact(self.workspace, external_id="1", properties={f"a{i}": i for i in range(50)})
        with pytest.raises(ValidationError):
            upsert_contact(self.workspace, external_id="1", properties={"one_more": 1})


class RateLimitTests(BaseTestCase):
    def test_it_allows_the_limit_then_says_how_long_to_wait(self) -> None:
        results = [hit("test", "1.2.3.4", limit=3) for _ in range(5)]
        assert results[:3] == [0, 0, 0]
        assert all(1 <= wait <= 60 for wait in results[3:])
        assert hit("test", "5.6.7.8", limit=3) == 0, "another key has its own count"
        assert hit("test", "1.2.3.4", limit=0) == 0, "0 turns the limit off"

    def test_the_window_resets(self) -> None:
        with time_machine.travel(datetime(2026, 5, 1, 12, 0, 10, tzinfo=UTC), tick=False):
            assert [hit("w", "k", limit=1) for _ in range(2)][1] == 50
        with time_machine.travel(datetime(2026, 5, 1, 12, 1, 1, tzinfo=UTC), tick=False):
            assert hit("w", "k", limit=1) == 0

    def test_client_ip_trusts_only_the_configured_proxies(self) -> None:
        request = RequestFactory().get(
            "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9"
        )
        assert client_ip(request) == "10.0.0.1"
        with override_settings(PROXY_COUNT=1):
            assert client_ip(request) == "203.0.113.9", "the spoofable left part ignored"
        v6 = RequestFactory().get("/", REMOTE_ADDR="2001:db8:1:2:3:4:5:6")
        assert client_ip(v6) == "2001:db8:1:2::/64"


class PageHelperTests(BaseTestCase):
    def test_score_groups_per_kind(self) -> None:
        nps = self.survey
        assert [score_group(nps, s) for s in (0, 6, 7, 8, 9, 10)] == ["low"] * 2 + [
            "middle"
        ] * 2 + ["high"] * 2
        csat = Survey(workspace=self.workspace, kind=Kind.CSAT, scale_min=1, scale_max=5)
        assert [score_group(csat, s) for s in range(1, 6)] == [
            "low",
            "low",
            "middle",
            "high",
            "high",
        ]
        ces = Survey(workspace=self.workspace, kind=Kind.CES, scale_min=1, scale_max=7)
        assert [score_group(ces, s) for s in range(1, 8)] == [
            "low",
            "low",
            "low",
            "middle",
            "high",
            "high",
            "high",
        ]

    def test_the_brand_palette_keeps_aa_contrast(self) -> None:
        for colour in ("#ffcc00", "#2454d6", "#777777", "#000000", "#ffffff", "bogus", "#00ff00"):
            with self.subTest(colour=colour):
                colours = palette(colour)
                assert contrast(colours.brand, colours.on_brand) >= 4.5
                assert contrast(colours.ink, PAGE_BACKGROUND) >= 4.5
