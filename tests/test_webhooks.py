"""Webhooks out, end to end against a real HTTP receiver on 127.0.0.1.

Answers are recorded through record_response (the real hook), deliveries run
inline (ImmediateBackend) on commit, and retries are driven by moving the clock
(time_machine) and calling the sweeper, the unit of work of the periodic job.
"""

from __future__ import annotations

import os
import re
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import time_machine
from django.test import override_settings
from django.utils import timezone

from kaiku.responses.actions import record_response
from kaiku.webhooks import delivery
from kaiku.webhooks.actions import create_endpoint, emit_event, enable_endpoint
from kaiku.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from kaiku.webhooks.schedule import retry_due_deliveries
from kaiku.webhooks.signing import signature_header
from tests.base import BaseTestCase
from tests.smtp import IMMEDIATE_TASKS, SmtpTestMixin, text_part
from tests.webhook_server import WebhookReceiver

ROOT = Path(__file__).resolve().parent.parent


def documented_verify() -> Any:
    """The Python verification snippet of docs/webhooks.md, executed as written."""
    text = (ROOT / "docs" / "webhooks.md").read_text()
    match = re.search(r"<!-- verify-snippet -->\s*```python\n(.*?)```", text, re.S)
    assert match, "docs/webhooks.md lost its verification snippet"
    namespace: dict[str, Any] = {}
    exec(compile(match.group(1), "docs/webhooks.md", "exec"), namespace)  # noqa: S102
    return namespace["verify_kaiku_signature"]


@override_settings(TASKS=IMMEDIATE_TASKS, WEBHOOKS_ALLOW_PRIVATE=True, WEBHOOK_TIMEOUT_SECONDS=1)
class WebhookTestCase(BaseTestCase):
    events: ClassVar[list[str]] = ["response.created", "response.updated"]

    def add_endpoint(self, receiver: WebhookReceiver, **kwargs: Any) -> tuple[WebhookEndpoint, str]:
        return create_endpoint(
            self.workspace,
            url=kwargs.pop("url", receiver.url),
            events=kwargs.pop("events", self.events),
            **kwargs,
        )

    def answer(self, score: int = 9, comment: str = "") -> int:
        with self.captureOnCommitCallbacks(execute=True):
            recorded = record_response(
                survey=self.survey, score=score, channel="link", comment=comment
            )
        return recorded.response.pk

    def sweep(self) -> int:
        with self.captureOnCommitCallbacks(execute=True):
            return retry_due_deliveries()


class SigningTest(WebhookTestCase):
    def test_the_documented_snippet_verifies_what_kaiku_sends(self) -> None:
        verify = documented_verify()
        with WebhookReceiver() as receiver:
            _endpoint, secret = self.add_endpoint(receiver)
            response_id = self.answer()
        [request] = receiver.requests
        header = request.headers["Kaiku-Signature"]
        self.assertRegex(header, r"^t=\d+,v1=[0-9a-f]{64}$")
        self.assertTrue(verify(secret, header, request.body))
        self.assertFalse(verify(secret, header, request.body + b" "))
        self.assertFalse(verify("whsec_wrong", header, request.body))
        body = request.json()
        self.assertEqual(set(body), {"id", "type", "created_at", "data"})
        self.assertEqual(body["type"], "response.created")
        self.assertEqual(body["data"]["id"], response_id)
        self.assertEqual(request.headers["Kaiku-Event-Id"], body["id"])
        self.assertEqual(request.headers["Content-Type"], "application/json")

    def test_the_snippet_refuses_a_replay_outside_the_window(self) -> None:
        verify = documented_verify()
        body = b'{"id":"x"}'
        old = int(timezone.now().timestamp()) - 301
        self.assertFalse(verify("whsec_s", signature_header("whsec_s", body, old), body))
        recent = int(timezone.now().timestamp()) - 299
        self.assertTrue(verify("whsec_s", signature_header("whsec_s", body, recent), body))
        self.assertFalse(verify("whsec_s", "v1=abc", body))
        self.assertFalse(verify("whsec_s", "garbage", body))

    def test_the_secret_is_stored_encrypted(self) -> None:
        with WebhookReceiver() as receiver:
            endpoint, secret = self.add_endpoint(receiver)
        stored = WebhookEndpoint.objects.values_list("secret_encrypted", flat=True).get()
        self.assertNotIn(secret, stored)
        self.assertTrue(secret.startswith("whsec_"))
        self.assertEqual(WebhookEndpoint.objects.get(pk=endpoint.pk).secret, secret)

    def test_an_update_of_the_answer_sends_response_updated(self) -> None:
        with WebhookReceiver() as receiver:
            self.add_endpoint(receiver)
            with self.captureOnCommitCallbacks(execute=True):
                first = record_response(survey=self.survey, score=3, channel="link")
            token = first.response.edit_token
            with self.captureOnCommitCallbacks(execute=True):
                record_response(survey=self.survey, score=4, channel="link", edit_token=token)
        types = [r.json()["type"] for r in receiver.requests]
        self.assertEqual(types, ["response.created", "response.updated"])
        self.assertEqual(receiver.requests[1].json()["data"]["score"], 4)
        ids = {r.json()["id"] for r in receiver.requests}
        self.assertEqual(len(ids), 2)  # two events, two ids

    def test_nothing_is_stored_when_no_endpoint_listens(self) -> None:
        with WebhookReceiver() as receiver:
            self.add_endpoint(receiver, events=["contact.unsubscribed"])
            self.answer()
        self.assertEqual(receiver.requests, [])
        self.assertFalse(WebhookEvent.objects.exists())

    def test_another_workspaces_endpoint_gets_nothing(self) -> None:
        with WebhookReceiver() as receiver:
            create_endpoint(self.charlies_workspace, url=receiver.url, events=self.events)
            self.answer()
        self.assertEqual(receiver.requests, [])


class RetryTest(WebhookTestCase):
    def test_a_flaky_receiver_gets_each_event_exactly_once_after_recovering(self) -> None:
        script: list[int | str] = [500, 503, 500, "close", 502, "sleep:2", 500]
        start = timezone.now()
        with (
            WebhookReceiver(script=script) as receiver,
            time_machine.travel(start, tick=True) as clock,
        ):
            self.add_endpoint(receiver)
            for score in (10, 6, 8):
                self.answer(score)
            for _minute in range(40):
                if not WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).exists():
                    break
                clock.shift(timedelta(minutes=20))
                self.sweep()
        event_ids = {str(e) for e in WebhookEvent.objects.values_list("event_id", flat=True)}
        # Exactly once from the receiver's point of view: each id processed once.
        self.assertEqual(len(receiver.processed_ids), 3)
        self.assertEqual(set(receiver.processed_ids), event_ids)
        # The receiver answered 200 after Kaiku's 1 s timeout ("sleep:2"): Kaiku
        # retried with the same id and the receiver's dedup absorbed the repeat.
        repeats = Counter(receiver.accepted_ids)
        self.assertEqual(sorted(repeats.values()), [1, 1, 2])
        # Retries carried the same id: every request's id is one of the three.
        self.assertEqual(set(receiver.ids_seen()), event_ids)
        self.assertEqual(len(receiver.requests), 3 + len(script))
        succeeded = WebhookAttempt.objects.filter(outcome="succeeded")
        self.assertEqual(
            sorted(succeeded.values_list("delivery", flat=True)),
            sorted(WebhookDelivery.objects.values_list("pk", flat=True)),
        )
        self.assertEqual(
            set(WebhookDelivery.objects.values_list("status", flat=True)),
            {DeliveryStatus.SUCCEEDED},
        )
        self.assertEqual(WebhookAttempt.objects.count(), len(receiver.requests))
        attempts = [r.headers["Kaiku-Delivery-Attempt"] for r in receiver.requests]
        self.assertIn("2", attempts)

    def test_retries_back_off_exponentially_with_jitter(self) -> None:
        start = timezone.now()
        with (
            WebhookReceiver(default=500) as receiver,
            time_machine.travel(start, tick=False) as clock,
        ):
            self.add_endpoint(receiver)
            self.answer()
            gaps = []
            for _ in range(20):
                row = WebhookDelivery.objects.get()
                if row.status != DeliveryStatus.PENDING:
                    break
                assert row.next_attempt_at is not None
                gaps.append(row.next_attempt_at - timezone.now())
                clock.move_to(row.next_attempt_at)
                self.sweep()
        minutes = [gap.total_seconds() / 60 for gap in gaps]
        for n, value in enumerate(minutes[:9]):
            expected = 2**n
            self.assertGreaterEqual(value, expected * 0.75 - 0.01, minutes)
            self.assertLessEqual(value, expected * 1.25 + 0.01, minutes)
        self.assertTrue(all(value <= 6 * 60 * 1.25 for value in minutes))
        row = WebhookDelivery.objects.get()
        self.assertEqual(row.status, DeliveryStatus.GAVE_UP)
        self.assertEqual(row.attempts, len(receiver.requests))
        # The last attempt is at the end of the 24-hour window, not later.
        last = WebhookAttempt.objects.order_by("number").last()
        assert last is not None
        self.assertLessEqual(last.created_at - row.created_at, timedelta(hours=24))
        self.assertGreaterEqual(last.created_at - row.created_at, timedelta(hours=23))
        self.assertTrue(10 <= row.attempts <= 14, row.attempts)

    def test_jitter_spreads_the_delays(self) -> None:
        delays = {delivery.retry_delay(3).total_seconds() for _ in range(20)}
        self.assertGreater(len(delays), 1)
        self.assertTrue(all(180 <= d <= 300 for d in delays))

    def test_a_retry_after_is_honoured(self) -> None:
        start = timezone.now()
        with WebhookReceiver(script=[429]) as receiver, time_machine.travel(start, tick=False):
            receiver_429 = receiver
            self.add_endpoint(receiver_429)
            self.answer()
        # The test server sends no Retry-After; a 429 is retried like a 5xx.
        row = WebhookDelivery.objects.get()
        self.assertEqual(row.status, DeliveryStatus.PENDING)
        self.assertEqual(row.last_status_code, 429)

    def test_two_workers_never_send_the_same_attempt(self) -> None:
        with WebhookReceiver() as receiver:
            self.add_endpoint(receiver)
            with self.captureOnCommitCallbacks(execute=False):
                record_response(survey=self.survey, score=9, channel="link")
            row = WebhookDelivery.objects.get()
            now = timezone.now()
            first = delivery.claim(row.pk, now)
            second = delivery.claim(row.pk, now)
        self.assertIsNotNone(first)
        self.assertIsNone(second)


class PermanentFailureTest(WebhookTestCase):
    def test_a_redirect_is_not_followed(self) -> None:
        with WebhookReceiver(script=["redirect"]) as receiver:
            self.add_endpoint(receiver)
            self.answer()
        self.assertEqual([r.path for r in receiver.requests], ["/hooks/kaiku"])
        row = WebhookDelivery.objects.get()
        self.assertEqual((row.status, row.last_status_code), (DeliveryStatus.FAILED, 302))
        self.assertIn("redirects are not followed", row.last_error)

    def test_a_4xx_is_not_retried(self) -> None:
        with WebhookReceiver(script=[410]) as receiver:
            self.add_endpoint(receiver)
            self.answer()
            self.sweep()
        self.assertEqual(len(receiver.requests), 1)
        self.assertEqual(WebhookDelivery.objects.get().status, DeliveryStatus.FAILED)

    @override_settings(WEBHOOK_TIMEOUT_SECONDS=1)
    def test_the_timeout_is_honoured(self) -> None:
        with WebhookReceiver(script=["sleep:2.5"]) as receiver:
            self.add_endpoint(receiver)
            started = timezone.now()
            self.answer()
            elapsed = timezone.now() - started
        self.assertLess(elapsed, timedelta(seconds=3))
        row = WebhookDelivery.objects.get()
        self.assertEqual(row.status, DeliveryStatus.PENDING)
        self.assertIsNone(row.last_status_code)
        self.assertIn("Timed out after 1 s", row.last_error)
        assert row.last_duration_ms is not None
        self.assertTrue(900 <= row.last_duration_ms < 2500, row.last_duration_ms)

    def test_the_default_timeout_is_five_seconds_and_private_addresses_are_refused(self) -> None:
        import kaiku.settings as configured

        if "KAIKU_WEBHOOK_TIMEOUT_SECONDS" not in os.environ:
            self.assertEqual(configured.WEBHOOK_TIMEOUT_SECONDS, 5)
        if "KAIKU_WEBHOOKS_ALLOW_PRIVATE" not in os.environ:
            self.assertFalse(configured.WEBHOOKS_ALLOW_PRIVATE)


@override_settings(TASKS=IMMEDIATE_TASKS, WEBHOOKS_ALLOW_PRIVATE=True, WEBHOOK_TIMEOUT_SECONDS=1)
class DisableTest(SmtpTestMixin, WebhookTestCase):
    def test_an_endpoint_is_disabled_after_five_failures_and_admins_are_emailed(self) -> None:
        with WebhookReceiver(default=404) as receiver:
            endpoint, _secret = self.add_endpoint(receiver)
            url = receiver.url
            for _ in range(4):
                self.answer()
            endpoint.refresh_from_db()
            self.assertTrue(endpoint.is_active)
            self.assertEqual(endpoint.consecutive_failures, 4)
            self.assertEqual(self.smtp.messages, [])
            self.answer()
            endpoint.refresh_from_db()
            self.assertFalse(endpoint.is_active)
            self.assertIn("HTTP 404", endpoint.disabled_reason)
            [message] = self.smtp.wait_for(1)
            self.answer()  # no more deliveries to a disabled endpoint
        self.assertEqual(len(receiver.requests), 5)
        self.assertEqual(message["To"], "alice@example.org")  # the owner; Bob is an agent
        self.assertIn(url, text_part(message))
        self.assertIn(f"/w/acme/webhooks/{endpoint.pk}/", text_part(message))
        self.assertEqual(len(self.smtp.messages), 1)

    def test_a_success_resets_the_failure_count(self) -> None:
        with WebhookReceiver(script=[404, 404, 404, 404, 200, 404]) as receiver:
            endpoint, _secret = self.add_endpoint(receiver)
            for _ in range(6):
                self.answer()
        endpoint.refresh_from_db()
        self.assertTrue(endpoint.is_active)
        self.assertEqual(endpoint.consecutive_failures, 1)

    def test_re_enabling_retries_pending_deliveries(self) -> None:
        with WebhookReceiver(default=500) as receiver:
            endpoint, _secret = self.add_endpoint(receiver)
            self.answer()
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
            self.assertEqual(self.sweep(), 0)
            receiver.default = 200
            self.assertTrue(enable_endpoint(endpoint))
            self.assertEqual(self.sweep(), 1)
        self.assertEqual(WebhookDelivery.objects.get().status, DeliveryStatus.SUCCEEDED)
        self.assertEqual(len(receiver.requests), 2)


class EmitEventTest(WebhookTestCase):
    def test_the_event_is_rolled_back_with_the_callers_transaction(self) -> None:
        with WebhookReceiver() as receiver:
            self.add_endpoint(receiver, events=["case.opened"])
            try:
                with self.captureOnCommitCallbacks(execute=True):
                    from django.db import transaction

                    with transaction.atomic():
                        emit_event(self.workspace, "case.opened", {"id": 1})
                        raise RuntimeError("the case could not be opened")
            except RuntimeError:
                pass
        self.assertFalse(WebhookEvent.objects.exists())
        self.assertEqual(receiver.requests, [])

    def test_case_events_can_be_emitted(self) -> None:
        with WebhookReceiver() as receiver:
            self.add_endpoint(receiver, events=["case.opened", "case.updated"])
            with self.captureOnCommitCallbacks(execute=True):
                event = emit_event(self.workspace, "case.opened", {"id": 7, "status": "open"})
        assert event is not None
        [request] = receiver.requests
        self.assertEqual(request.json()["id"], str(event.event_id))
        uuid.UUID(request.json()["id"])
        self.assertEqual(request.json()["data"], {"id": 7, "status": "open"})

    def test_an_unknown_event_type_is_a_programming_error(self) -> None:
        with self.assertRaises(ValueError):
            emit_event(self.workspace, "response.deleted", {})


class DelightedFormatTest(WebhookTestCase):
    def test_a_delighted_endpoint_gets_delighteds_shape_with_kaikus_signature(self) -> None:
        verify = documented_verify()
        with WebhookReceiver() as receiver:
            _endpoint, secret = self.add_endpoint(
                receiver,
                events=["response.created", "case.opened"],
                payload_format="delighted",
            )
            self.answer(score=10)
            with self.captureOnCommitCallbacks(execute=True):
                emit_event(self.workspace, "case.opened", {"id": 3})
        delighted, case = receiver.requests
        body = delighted.json()
        self.assertEqual(body["event_type"], "survey_response.created")
        self.assertEqual(body["event_data"]["score"], 10)
        self.assertTrue(verify(secret, delighted.headers["Kaiku-Signature"], delighted.body))
        # Delighted has no case events: those come in Kaiku's format.
        self.assertEqual(case.json()["type"], "case.opened")


DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


class SchedulingTest(WebhookTestCase):
    def test_the_sweeper_runs_every_minute_in_the_workers(self) -> None:
        from kaiku.lib.periodic import registered

        jobs = {job.name: job for job in registered()}
        self.assertEqual(jobs["webhooks.retry_due_deliveries"].every, timedelta(minutes=1))

    @override_settings(TASKS=DATABASE_TASKS)
    def test_with_the_database_queue_a_retry_is_queued_for_its_due_time(self) -> None:
        from django_tasks_db.models import DBTaskResult

        with WebhookReceiver(script=[503]) as receiver:
            self.add_endpoint(receiver)
            with self.captureOnCommitCallbacks(execute=True):
                record_response(survey=self.survey, score=9, channel="link")
            jobs = DBTaskResult.objects.filter(task_path="kaiku.webhooks.tasks.deliver_webhook")
            [first] = jobs  # the first attempt, queued on commit
            row = WebhookDelivery.objects.get()
            with self.captureOnCommitCallbacks(execute=True):
                self.assertEqual(delivery.attempt(row.pk), "retry")
        row.refresh_from_db()
        retry = jobs.exclude(pk=first.pk).get()
        self.assertEqual(retry.run_after, row.next_attempt_at)
        self.assertEqual(retry.args_kwargs["args"], [row.pk])
        # The sweeper leaves it to that job unless it is overdue by the grace period.
        self.assertEqual(retry_due_deliveries(now=row.next_attempt_at), 0)
        assert row.next_attempt_at is not None
        late = row.next_attempt_at + timedelta(minutes=6)
        self.assertEqual(retry_due_deliveries(now=late), 1)
        self.assertEqual(len(receiver.requests), 1)
