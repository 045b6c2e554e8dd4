"""The webhooks pages: create (secret once), edit, test event, delivery log, re-enable, access."""

from __future__ import annotations

from typing import Any

from django.test import override_settings
from django.urls import reverse

from kaiku.webhooks.actions import create_endpoint
from kaiku.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from tests.smtp import IMMEDIATE_TASKS
from tests.test_webhooks import WebhookTestCase
from tests.webhook_server import WebhookReceiver


def form(url: str, **extra: Any) -> dict[str, Any]:
    return {"url": url, "events": ["response.created"], "payload_format": "kaiku", **extra}


@override_settings(TASKS=IMMEDIATE_TASKS, WEBHOOKS_ALLOW_PRIVATE=True, WEBHOOK_TIMEOUT_SECONDS=1)
class WebhooksPageTest(WebhookTestCase):
    list_url = "/w/acme/webhooks/"

    def detail_url(self, endpoint: WebhookEndpoint, suffix: str = "") -> str:
        return f"/w/acme/webhooks/{endpoint.pk}/{suffix}"

    def test_owners_create_a_webhook_and_see_the_secret_once(self) -> None:
        self.login_as(self.alice)
        response = self.client.post(
            self.list_url, form("https://hooks.example.com/k"), follow=False
        )
        # hooks.example.com does not resolve here: the form says so.
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "does not resolve", status_code=400)
        response = self.client.post(self.list_url, form("http://127.0.0.1:9/hook"))
        self.assertEqual(response.status_code, 200)
        endpoint = WebhookEndpoint.objects.get()
        self.assertContains(response, endpoint.secret)
        self.assertEqual(response["Cache-Control"].count("no-store"), 1)
        self.assertEqual(endpoint.created_by, self.alice)
        again = self.client.get(self.list_url)
        self.assertNotContains(again, endpoint.secret)
        self.assertContains(again, "http://127.0.0.1:9/hook")

    @override_settings(WEBHOOKS_ALLOW_PRIVATE=False)
    def test_the_form_refuses_private_addresses(self) -> None:
        self.login_as(self.alice)
        for url in [
            "http://127.0.0.1/x",
            "http://10.0.0.8/x",
            "http://[::1]/x",
            "http://localhost/x",
        ]:
            with self.subTest(url=url):
                response = self.client.post(self.list_url, form(url))
                self.assertContains(response, "private or local network", status_code=400)
        self.assertFalse(WebhookEndpoint.objects.exists())

    def test_agents_get_403_and_outsiders_404_on_every_route(self) -> None:
        endpoint, _ = create_endpoint(self.workspace, url="http://127.0.0.1:9/", events=self.events)
        with self.captureOnCommitCallbacks(execute=False):
            self.answer()
        delivery = WebhookDelivery.objects.get()
        urls = [
            self.list_url,
            self.detail_url(endpoint),
            self.detail_url(endpoint, "test/"),
            self.detail_url(endpoint, "enable/"),
            self.detail_url(endpoint, "roll-secret/"),
            self.detail_url(endpoint, "delete/"),
            self.detail_url(endpoint, f"deliveries/{delivery.pk}/redeliver/"),
        ]
        for url in urls:
            for method in ("get", "post"):
                with self.subTest(url=url, method=method):
                    self.assertRefusedToOutsider(url, method)
                    self.login_as(self.bob)
                    self.assertEqual(getattr(self.client, method)(url).status_code, 403)
        self.assertTrue(WebhookEndpoint.objects.filter(pk=endpoint.pk).exists())

    def test_another_workspaces_endpoint_is_404_for_alice(self) -> None:
        theirs, _ = create_endpoint(
            self.charlies_workspace, url="http://127.0.0.1:9/", events=self.events
        )
        self.login_as(self.alice)
        self.assertEqual(self.client.get(self.detail_url(theirs)).status_code, 404)
        self.assertEqual(self.client.post(self.detail_url(theirs, "delete/")).status_code, 404)
        self.assertTrue(WebhookEndpoint.objects.filter(pk=theirs.pk).exists())

    def test_the_delivery_log_shows_status_code_duration_error_and_next_attempt(self) -> None:
        with WebhookReceiver(script=[500, 200]) as receiver:
            endpoint, _ = self.add_endpoint(receiver)
            self.answer()
            self.login_as(self.alice)
            with self.captureOnCommitCallbacks(execute=True):
                response = self.client.post(self.detail_url(endpoint, "test/"), follow=True)
        self.assertContains(response, "A test event is on its way")
        pending = WebhookDelivery.objects.get(event__type="response.created")
        self.assertEqual(pending.status, DeliveryStatus.PENDING)
        page = self.client.get(self.detail_url(endpoint))
        self.assertContains(page, "webhook.test")
        self.assertContains(page, "response.created")
        self.assertContains(page, "HTTP 500.")
        self.assertContains(page, "Will retry")
        self.assertContains(page, "Delivered")
        self.assertContains(page, f"{pending.last_duration_ms} ms")
        self.assertContains(page, str(pending.event.event_id))

    def test_the_delivery_log_is_paginated_with_a_fixed_query_count(self) -> None:
        endpoint, _ = create_endpoint(self.workspace, url="http://127.0.0.1:9/", events=self.events)
        for n in range(55):
            event = WebhookEvent.objects.create(workspace=self.workspace, type="response.created")
            delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event)
            WebhookAttempt.objects.create(
                delivery=delivery, number=1, outcome="retry", error=f"e{n}"
            )
        self.login_as(self.alice)
        # session, user, membership, endpoint, deliveries+events, attempts
        with self.assertNumQueries(6):
            first = self.client.get(self.detail_url(endpoint))
        self.assertContains(first, "Older deliveries")
        rows = first.context["deliveries"]
        self.assertEqual(len(rows), 50)
        older = self.client.get(self.detail_url(endpoint), {"before": first.context["older"]})
        self.assertEqual(len(older.context["deliveries"]), 5)
        self.assertNotContains(older, "Older deliveries")
        ids = {d.pk for d in rows} | {d.pk for d in older.context["deliveries"]}
        self.assertEqual(len(ids), 55)

    def test_editing_events_and_format(self) -> None:
        endpoint, _ = create_endpoint(self.workspace, url="http://127.0.0.1:9/", events=self.events)
        self.login_as(self.alice)
        data = form(
            "http://127.0.0.1:9/",
            events=["contact.unsubscribed", "case.opened"],
            payload_format="delighted",
        )
        response = self.client.post(self.detail_url(endpoint), data)
        self.assertEqual(response.status_code, 302)
        endpoint.refresh_from_db()
        self.assertEqual(endpoint.events, ["contact.unsubscribed", "case.opened"])
        self.assertEqual(endpoint.payload_format, "delighted")
        bad = self.client.post(self.detail_url(endpoint), form("http://127.0.0.1:9/", events=[]))
        self.assertEqual(bad.status_code, 400)

    def test_re_enabling_a_disabled_endpoint(self) -> None:
        endpoint, _ = create_endpoint(self.workspace, url="http://127.0.0.1:9/", events=self.events)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            is_active=False, disabled_reason="5 deliveries in a row failed.", consecutive_failures=5
        )
        self.login_as(self.alice)
        page = self.client.get(self.detail_url(endpoint))
        self.assertContains(page, "This webhook is disabled.")
        self.assertNotContains(page, "Send a test event")
        self.client.post(self.detail_url(endpoint, "enable/"))
        endpoint.refresh_from_db()
        self.assertTrue(endpoint.is_active)
        self.assertEqual((endpoint.consecutive_failures, endpoint.disabled_reason), (0, ""))

    def test_redeliver_a_failed_delivery_with_the_same_event_id(self) -> None:
        with WebhookReceiver(script=[410, 200]) as receiver:
            endpoint, _ = self.add_endpoint(receiver)
            self.answer()
            delivery = WebhookDelivery.objects.get()
            self.assertEqual(delivery.status, DeliveryStatus.FAILED)
            self.login_as(self.alice)
            with self.captureOnCommitCallbacks(execute=True):
                self.client.post(self.detail_url(endpoint, f"deliveries/{delivery.pk}/redeliver/"))
        delivery.refresh_from_db()
        self.assertEqual(delivery.status, DeliveryStatus.SUCCEEDED)
        self.assertEqual(len(set(receiver.ids_seen())), 1)
        self.assertEqual(len(receiver.requests), 2)

    def test_rolling_the_secret_shows_a_new_one_once(self) -> None:
        endpoint, old = create_endpoint(
            self.workspace, url="http://127.0.0.1:9/", events=self.events
        )
        self.login_as(self.alice)
        response = self.client.post(self.detail_url(endpoint, "roll-secret/"))
        endpoint.refresh_from_db()
        self.assertNotEqual(endpoint.secret, old)
        self.assertContains(response, endpoint.secret)

    def test_deleting_an_endpoint(self) -> None:
        endpoint, _ = create_endpoint(self.workspace, url="http://127.0.0.1:9/", events=self.events)
        self.login_as(self.alice)
        response = self.client.post(self.detail_url(endpoint, "delete/"))
        self.assertRedirects(response, reverse("webhooks:list", args=["acme"]))
        self.assertFalse(WebhookEndpoint.objects.exists())
