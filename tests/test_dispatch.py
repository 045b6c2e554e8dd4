"""Dispatching and delivering: retries, bounces, rate limits, reminders, stale claims, periodic.

Jobs are tested by calling their unit of work (dispatch_due, deliver_*), with
time_machine for time and the real aiosmtpd server scripted to defer or refuse.
"""

from __future__ import annotations

import signal
from collections import Counter
from datetime import timedelta
from typing import Any

import time_machine
from django.core.management import CommandError, call_command
from django.test import TestCase, TransactionTestCase, override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from kaiku.accounts.models import Workspace
from kaiku.contacts.models import Contact
from kaiku.lib import periodic
from kaiku.responses.models import Response
from kaiku.surveys import delivery
from kaiku.surveys.models import (
    DeliveryAttempt,
    Invitation,
    InvitationStatus,
    PeriodicRun,
    Survey,
)
from kaiku.surveys.sending import schedule_invitations
from tests.base import BaseTestCase
from tests.delivery_helpers import (
    ScriptedSmtpMixin,
    contacts_of,
    dispatch_and_deliver,
    make_contacts,
    schedule,
    tokens_received,
)
from tests.smtp import IMMEDIATE_TASKS, SmtpServer

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


class DeliveryTestCase(ScriptedSmtpMixin, BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.start = timezone.now()

    def later(self, **delta: float) -> time_machine.travel:
        return time_machine.travel(self.start + timedelta(**delta), tick=False)


class TransientErrorTests(DeliveryTestCase):
    def test_a_451_is_retried_later_and_sent_exactly_once(self) -> None:
        [dana] = make_contacts(self.workspace, 1, "dana")
        self.smtp.defer(dana.email or "", times=2)
        schedule(self.survey)
        stats = dispatch_and_deliver()
        assert (stats.retry, stats.sent) == (1, 0)
        invitation = Invitation.objects.get()
        assert invitation.status == InvitationStatus.SCHEDULED
        assert invitation.attempts == 1
        assert invitation.status_reason.startswith("Will retry: 451")
        # Five minutes ±20 % of jitter.
        wait = invitation.send_at - self.start
        assert timedelta(minutes=4) <= wait <= timedelta(minutes=6, seconds=1), wait
        with self.later(minutes=1):
            assert dispatch_and_deliver().sent == 0, "not before its retry time"
        with self.later(minutes=7):
            assert dispatch_and_deliver().retry == 1  # the second 451
        with self.later(hours=1):
            assert dispatch_and_deliver().sent == 1
        with self.later(hours=10):
            assert dispatch_and_deliver().sent == 0
        invitation.refresh_from_db()
        assert invitation.status == InvitationStatus.SENT
        assert invitation.attempts == 3
        assert tokens_received(self.smtp.messages) == [invitation.token]
        outcomes = list(
            DeliveryAttempt.objects.filter(invitation=invitation)
            .order_by("created_at", "pk")
            .values_list("outcome", "smtp_code")
        )
        assert outcomes == [("retry", 451), ("retry", 451), ("sent", None)]

    def test_a_refused_connection_is_retried(self) -> None:
        make_contacts(self.workspace, 3)
        schedule(self.survey)
        with self.settings(EMAIL_PORT=_closed_port()):
            stats = dispatch_and_deliver()
        assert stats.retry == 3
        assert set(Invitation.objects.values_list("status", flat=True)) == {"scheduled"}
        assert "ConnectionRefusedError" in Invitation.objects.first().status_reason  # type: ignore[union-attr]
        with self.later(hours=1):
            assert dispatch_and_deliver().sent == 3
        assert len(self.smtp.wait_for(3)) == 3

    def test_it_gives_up_after_six_attempts(self) -> None:
        [dana] = make_contacts(self.workspace, 1)
        self.smtp.defer(dana.email or "", times=10)
        schedule(self.survey)
        for hours in (0, 1, 2, 5, 12, 30, 60):
            with self.later(hours=hours):
                dispatch_and_deliver()
        invitation = Invitation.objects.get()
        assert invitation.status == InvitationStatus.FAILED
        assert invitation.attempts == delivery.MAX_ATTEMPTS
        assert invitation.status_reason.startswith("Gave up after 6 attempts: 451")
        assert Contact.objects.get().bounced_at is None, "a deferral is not a bounce"
        assert not self.smtp.messages


class PermanentErrorTests(DeliveryTestCase):
    def test_a_550_fails_bounces_and_is_never_emailed_again(self) -> None:
        gone, _kept = make_contacts(self.workspace, 2)
        self.smtp.refuse(gone.email or "", "550 5.1.1 <gone> User unknown")
        schedule(self.survey)
        stats = dispatch_and_deliver()
        assert (stats.sent, stats.failed) == (1, 1)
        failed = Invitation.objects.get(contact=gone)
        assert failed.status == InvitationStatus.FAILED
        assert failed.status_reason == "550 5.1.1 <gone> User unknown"
        gone.refresh_from_db()
        assert gone.bounced_at is not None
        # No survey emails them again.
        other = Survey.objects.create(workspace=self.workspace, name="Support CSAT", kind="csat")
        other.recontact_days = 0
        other.save()
        self.smtp.reset_script()
        with self.later(days=1):
            summary = schedule(other)
            assert summary.skipped["bounced"] == 1
            dispatch_and_deliver()
        assert all(m["To"] != gone.email for m in self.smtp.messages)

    def test_a_policy_rejection_at_data_fails_without_marking_a_bounce(self) -> None:
        make_contacts(self.workspace, 1)
        self.smtp.reject_data("554 5.7.1 Message rejected as spam")
        schedule(self.survey)
        assert dispatch_and_deliver().failed == 1
        invitation = Invitation.objects.get()
        assert invitation.status == InvitationStatus.FAILED
        assert invitation.status_reason == "554 5.7.1 Message rejected as spam"
        assert Contact.objects.get().bounced_at is None

    def test_a_mailbox_rejection_at_data_is_a_bounce(self) -> None:
        make_contacts(self.workspace, 1)
        self.smtp.reject_data("550 Mailbox unavailable")
        schedule(self.survey)
        dispatch_and_deliver()
        assert Contact.objects.get().bounced_at is not None

    def test_the_batch_goes_on_after_a_rejection(self) -> None:
        contacts = make_contacts(self.workspace, 5)
        self.smtp.refuse(contacts[2].email or "")
        schedule(self.survey)
        stats = dispatch_and_deliver()
        assert (stats.sent, stats.failed) == (4, 1)


class ClassifyTests(TestCase):
    def test_smtp_answers_are_sorted_into_retry_and_failure(self) -> None:
        import smtplib

        refused = smtplib.SMTPRecipientsRefused({"a@x": (550, b"5.1.1 unknown")})
        assert delivery.classify(refused).bounce
        policy = smtplib.SMTPRecipientsRefused({"a@x": (550, b"5.7.1 relaying denied")})
        assert delivery.classify(policy).outcome == "failed"
        assert not delivery.classify(policy).bounce
        assert delivery.classify(smtplib.SMTPDataError(452, b"full")).outcome == "retry"
        sender = smtplib.SMTPSenderRefused(553, b"bad sender", "kaiku@localhost")
        assert delivery.classify(sender).outcome == "retry", "our configuration, not theirs"
        assert delivery.classify(TimeoutError("timed out")).broken
        assert delivery.classify(smtplib.SMTPServerDisconnected()).outcome == "retry"


class SendTimeChecksTests(DeliveryTestCase):
    def test_a_contact_who_unsubscribes_before_the_send_is_skipped(self) -> None:
        [dana] = make_contacts(self.workspace, 1)
        schedule(self.survey, send_at=self.start + timedelta(hours=1))
        Contact.objects.filter(pk=dana.pk).update(unsubscribed_at=self.start)
        with self.later(hours=2):
            stats = dispatch_and_deliver()
        assert stats.skipped == 1
        invitation = Invitation.objects.get()
        assert (invitation.status, invitation.status_reason) == ("skipped", "unsubscribed")
        assert not self.smtp.messages

    def test_a_deactivated_survey_sends_nothing(self) -> None:
        make_contacts(self.workspace, 2)
        schedule(self.survey, send_at=self.start + timedelta(hours=1))
        Survey.objects.filter(pk=self.survey.pk).update(is_active=False)
        with self.later(hours=2):
            assert dispatch_and_deliver().skipped == 2
        assert not self.smtp.messages

    def test_a_send_job_run_twice_sends_once(self) -> None:
        make_contacts(self.workspace, 3)
        schedule(self.survey)
        [ids] = delivery.dispatch_due().invitations
        assert delivery.deliver_invitations(ids).sent == 3
        assert delivery.deliver_invitations(ids).sent == 0
        assert len(self.smtp.wait_for(3)) == 3

    def test_a_claim_is_taken_once(self) -> None:
        make_contacts(self.workspace, 4)
        schedule(self.survey)
        first = delivery.dispatch_due()
        second = delivery.dispatch_due()
        assert (first.count, second.count) == (4, 0)


class StaleClaimTests(DeliveryTestCase):
    def test_a_dead_workers_claims_are_sent_by_another(self) -> None:
        make_contacts(self.workspace, 2)
        schedule(self.survey)
        delivery.dispatch_due()  # claimed; the worker that would send them dies
        assert set(Invitation.objects.values_list("status", flat=True)) == {"sending"}
        with self.later(minutes=5):
            assert delivery.dispatch_due().count == 0, "a live claim is left alone"
        with self.later(minutes=16):
            assert dispatch_and_deliver().sent == 2
        assert len(self.smtp.wait_for(2)) == 2


class RateLimitTests(DeliveryTestCase):
    def test_only_the_workspaces_rate_is_sent_per_minute(self) -> None:
        self.workspace.email_rate_per_minute = 5
        self.workspace.save()
        make_contacts(self.workspace, 12)
        schedule(self.survey)
        with self.later(seconds=1):
            assert dispatch_and_deliver().sent == 5
        with self.later(seconds=30):
            assert dispatch_and_deliver().sent == 0
        with self.later(seconds=59):
            assert dispatch_and_deliver().sent == 0
        with self.later(seconds=62):
            assert dispatch_and_deliver().sent == 5
        with self.later(seconds=124):
            assert dispatch_and_deliver().sent == 2
        assert len(self.smtp.messages) == 12
        sent_at = sorted(t for t in Invitation.objects.values_list("sent_at", flat=True) if t)
        for i, when in enumerate(sent_at):
            in_window = [t for t in sent_at if when - timedelta(seconds=60) < t <= when]
            assert len(in_window) <= 5, (i, in_window)

    def test_claimed_but_unsent_emails_count_against_the_rate(self) -> None:
        self.workspace.email_rate_per_minute = 5
        self.workspace.save()
        make_contacts(self.workspace, 8)
        schedule(self.survey)
        assert delivery.dispatch_due().count == 5  # a worker holds them, not yet sent
        with self.later(seconds=30):
            assert delivery.dispatch_due().count == 0

    def test_each_workspace_has_its_own_budget(self) -> None:
        self.workspace.email_rate_per_minute = 2
        self.workspace.save()
        make_contacts(self.workspace, 4)
        globex_survey = Survey.objects.create(workspace=self.charlies_workspace, name="G")
        make_contacts(self.charlies_workspace, 4, "globex")
        schedule(self.survey)
        schedule(globex_survey)
        assert dispatch_and_deliver().sent == 2 + 4


class ReminderTests(DeliveryTestCase):
    def send_initial(self, count: int = 1) -> list[Contact]:
        contacts = make_contacts(self.workspace, count)
        schedule(self.survey)
        assert dispatch_and_deliver().sent == count
        self.smtp.clear()
        return contacts

    def test_one_reminder_goes_after_the_surveys_days_to_those_who_did_not_answer(self) -> None:
        answered, silent = self.send_initial(2)
        token = Invitation.objects.get(contact=answered).token
        self.client.post(f"/r/{token}/", {"score": "8"})
        with self.later(days=2, hours=23):
            assert dispatch_and_deliver().sent == 0
        with self.later(days=3, minutes=1):
            assert dispatch_and_deliver().sent == 1
        [reminder] = self.smtp.wait_for(1)
        assert reminder["To"] == silent.email
        assert reminder["Subject"] == "Reminder: Acme would like your opinion"
        invitation = Invitation.objects.get(contact=silent)
        assert invitation.reminded_at is not None
        assert invitation.remind_at is None
        with self.later(days=20):
            assert dispatch_and_deliver().sent == 0
        assert len(self.smtp.messages) == 1

    def test_throttling_does_not_block_the_reminder_but_unsubscribing_does(self) -> None:
        kept, left = self.send_initial(2)
        # Another survey reached `kept` in between (e.g. an API trigger with a 0-day window).
        other = Survey.objects.create(workspace=self.workspace, name="CES", recontact_days=0)
        Invitation.objects.create(
            workspace=self.workspace,
            survey=other,
            contact=kept,
            status="sent",
            sent_at=self.start,
        )
        Contact.objects.filter(pk=left.pk).update(unsubscribed_at=self.start)
        with self.later(days=4):
            assert dispatch_and_deliver().sent == 1
        assert [m["To"] for m in self.smtp.messages] == [kept.email]

    def test_a_bounced_contact_gets_no_reminder(self) -> None:
        [dana] = self.send_initial(1)
        Contact.objects.filter(pk=dana.pk).update(bounced_at=self.start)
        with self.later(days=4):
            assert dispatch_and_deliver().sent == 0
        assert Invitation.objects.get().remind_at is None

    def test_a_survey_without_reminders_sends_none(self) -> None:
        self.survey.reminder_days = None
        self.survey.save()
        self.send_initial(1)
        assert Invitation.objects.get().remind_at is None
        with self.later(days=10):
            assert dispatch_and_deliver().sent == 0

    def test_turning_reminders_off_after_sending_cancels_them(self) -> None:
        self.send_initial(1)
        Survey.objects.filter(pk=self.survey.pk).update(reminder_days=None)
        with self.later(days=4):
            assert dispatch_and_deliver().sent == 0

    def test_a_transient_error_on_a_reminder_is_retried_once_it_is_delivered(self) -> None:
        [dana] = self.send_initial(1)
        self.smtp.defer(dana.email or "", times=1)
        with self.later(days=3, minutes=1):
            assert dispatch_and_deliver().retry == 1
        with self.later(days=3, hours=1):
            assert dispatch_and_deliver().sent == 1
        with self.later(days=9):
            assert dispatch_and_deliver().sent == 0
        assert len(self.smtp.messages) == 1

    def test_an_answer_after_the_reminder_is_still_recorded(self) -> None:
        [dana] = self.send_initial(1)
        with self.later(days=4):
            dispatch_and_deliver()
        token = Invitation.objects.get().token
        self.client.post(f"/r/{token}/", {"score": "3"})
        assert Response.objects.get().contact == dana


class EnqueueAfterCommitTests(DeliveryTestCase):
    def test_nothing_is_sent_before_the_transaction_commits(self) -> None:
        make_contacts(self.workspace, 2)
        with self.captureOnCommitCallbacks(execute=False) as callbacks:
            schedule_invitations(self.survey, contacts_of(self.workspace))
        assert len(callbacks) == 1
        assert not self.smtp.messages
        assert set(Invitation.objects.values_list("status", flat=True)) == {"scheduled"}
        # The callback enqueues the dispatcher, whose send jobs are enqueued on its commit.
        with self.captureOnCommitCallbacks(execute=True):
            callbacks[0]()
        assert len(self.smtp.wait_for(2)) == 2
        assert set(Invitation.objects.values_list("status", flat=True)) == {"sent"}

    def test_a_future_send_enqueues_nothing(self) -> None:
        make_contacts(self.workspace, 1)
        with self.captureOnCommitCallbacks(execute=False) as callbacks:
            schedule(self.survey, send_at=self.start + timedelta(days=1))
        assert callbacks == []


class PeriodicTests(TestCase):
    def test_the_delivery_jobs_are_registered(self) -> None:
        names = {job.name: job.every for job in periodic.registered()}
        assert names["surveys.dispatch"] == timedelta(seconds=30)
        assert "lib.prune_periodic_runs" in names

    def test_each_slot_runs_once_however_many_schedulers_ask(self) -> None:
        calls: Counter[str] = Counter()
        job = periodic.PeriodicJob("test.count", timedelta(minutes=1), lambda: calls.update("x"))
        now = timezone.now().replace(second=10)
        slot = job.slot(now)
        assert periodic.claim(job, slot, "worker-a")
        assert not periodic.claim(job, slot, "worker-b")
        assert periodic.claim(job, job.slot(now + timedelta(minutes=1)), "worker-b")
        assert PeriodicRun.objects.filter(name="test.count").count() == 2

    def test_run_due_runs_each_job_once_per_slot(self) -> None:
        # Ten past the hour: "31 s later" must not cross into an hourly job's next slot
        # (with the clock's own time, a run in the last 31 s of an hour failed).
        now = timezone.now().replace(minute=10, second=0, microsecond=0)
        first = periodic.run_due("a", now=now)
        assert "surveys.dispatch" in first
        assert periodic.run_due("b", now=now) == []
        later = periodic.run_due("b", now=now + timedelta(seconds=31))
        assert "surveys.dispatch" in later
        assert "lib.prune_periodic_runs" not in later, "an hourly job waits for its next slot"

    def test_a_scheduler_skips_slots_it_already_tried(self) -> None:
        seen: dict[str, object] = {}
        now = timezone.now()
        periodic.run_due("a", now=now, seen=seen)  # type: ignore[arg-type]
        with self.assertNumQueries(0):
            periodic.run_due("a", now=now, seen=seen)  # type: ignore[arg-type]

    def test_old_runs_are_pruned(self) -> None:
        PeriodicRun.objects.create(name="x", slot=timezone.now() - timedelta(days=3))
        PeriodicRun.objects.create(name="x", slot=timezone.now())
        periodic.prune_periodic_runs()
        assert PeriodicRun.objects.count() == 1


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class WorkerCommandTests(TransactionTestCase):
    """`kaiku worker --once` end to end, in-process, with the database queue."""

    def setUp(self) -> None:
        super().setUp()
        # db_worker installs its own SIGINT/SIGTERM handlers; give the test runner its own back.
        self.handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def tearDown(self) -> None:
        for signum, handler in self.handlers.items():
            signal.signal(signum, handler)
        super().tearDown()

    def test_once_runs_the_dispatcher_and_the_queued_send_jobs(self) -> None:
        workspace = Workspace.objects.create(name="Acme", slug="acme")
        survey = Survey.objects.create(workspace=workspace, name="NPS")
        make_contacts(workspace, 3)
        with SmtpServer() as smtp, _smtp_settings(smtp), self.settings(TASKS=DATABASE_TASKS):
            schedule_invitations(survey, contacts_of(workspace))
            assert DBTaskResult.objects.count() == 1, "the dispatcher, enqueued on commit"
            call_command("worker", "--once", verbosity=0)
            assert len(smtp.wait_for(3)) == 3
        assert set(Invitation.objects.values_list("status", flat=True)) == {"sent"}
        assert PeriodicRun.objects.filter(name="surveys.dispatch").count() == 1

    def test_periodic_only_once_claims_the_slots_and_needs_no_database_queue(self) -> None:
        with self.settings(TASKS=IMMEDIATE_TASKS):
            call_command("worker", "--periodic-only", "--once", verbosity=0)
        names = set(PeriodicRun.objects.values_list("name", flat=True))
        assert {"surveys.dispatch", "lib.prune_periodic_runs"} <= names

    def test_a_queue_worker_needs_the_database_backend(self) -> None:
        with self.settings(TASKS=IMMEDIATE_TASKS), self.assertRaises(CommandError):
            call_command("worker", "--once", verbosity=0)


def _smtp_settings(smtp: SmtpServer) -> Any:
    return override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST=smtp.host,
        EMAIL_PORT=smtp.port,
    )
