"""`/api/v1/webhooks`: list, create (secret once), get, delete; private URLs; isolation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import time_machine
from django.test import override_settings

from kaiku.webhooks.actions import create_endpoint
from kaiku.webhooks.models import WebhookEndpoint
from tests.test_api_base import ApiTestCase


@override_settings(WEBHOOKS_ALLOW_PRIVATE=True)
class WebhooksApiTest(ApiTestCase):
    def body(self, **extra: Any) -> dict[str, Any]:
        return {"url": "http://127.0.0.1:9/hook", "events": ["response.created"], **extra}

    def test_create_returns_the_secret_once(self) -> None:
        created = self.api_post("/webhooks", self.body(payload_format="delighted"))
        self.assertEqual(created.status_code, 201, created.content)
        body = created.json()
        endpoint = WebhookEndpoint.objects.get()
        self.assertEqual(body["secret"], endpoint.secret)
        self.assertEqual((body["payload_format"], body["is_active"]), ("delighted", True))
        fetched = self.api_get(f"/webhooks/{endpoint.pk}").json()
        self.assertNotIn("secret", fetched)
        listed = self.api_get("/webhooks").json()
        self.assertEqual([w["id"] for w in listed["data"]], [endpoint.pk])
        self.assertNotIn("secret", listed["data"][0])

    @override_settings(WEBHOOKS_ALLOW_PRIVATE=False)
    def test_private_urls_are_refused(self) -> None:
        for url in ["http://127.0.0.1/", "http://10.0.0.1/", "http://[::1]/", "http://localhost/"]:
            with self.subTest(url=url):
                refused = self.api_post("/webhooks", self.body(url=url))
                error = self.assertApiError(refused, 422, "invalid", "url")
                self.assertIn("private", error["message"])
        self.assertFalse(WebhookEndpoint.objects.exists())

    def test_bad_input_is_422(self) -> None:
        cases: list[tuple[dict[str, Any], str]] = [
            (self.body(events=[]), "events"),
            (self.body(events=["response.deleted"]), "events.0"),
            (self.body(events=["response.created", "response.created"]), "events"),
            (self.body(url="ftp://example.com/"), "url"),
            (self.body(payload_format="xml"), "payload_format"),
        ]
        for body, field in cases:
            with self.subTest(body=body):
                self.assertApiError(self.api_post("/webhooks", body), 422, "invalid", field)
        self.assertApiError(
            self.api_post("/webhooks", self.body(), token=self.read_token), 403, "forbidden"
        )

    def test_delete(self) -> None:
        endpoint, _ = create_endpoint(
            self.workspace, url="http://127.0.0.1:9/", events=["case.opened"]
        )
        response = self.client.delete(
            f"/api/v1/webhooks/{endpoint.pk}", headers=self._auth(self.write_token)
        )
        self.assertEqual(response.status_code, 204)
        self.assertFalse(WebhookEndpoint.objects.exists())

    def test_charlie_gets_404_on_every_webhook(self) -> None:
        endpoint, _ = create_endpoint(
            self.workspace, url="http://127.0.0.1:9/", events=["case.opened"]
        )
        token = self.charlies_token
        self.assertApiError(self.api_get(f"/webhooks/{endpoint.pk}", token=token), 404, "not_found")
        deleted = self.client.delete(f"/api/v1/webhooks/{endpoint.pk}", headers=self._auth(token))
        self.assertApiError(deleted, 404, "not_found")
        self.assertEqual(self.api_get("/webhooks", token=token).json()["data"], [])
        self.assertTrue(WebhookEndpoint.objects.filter(pk=endpoint.pk).exists())

    def test_the_rate_limit_answers_429_with_retry_after(self) -> None:
        # Inside one minute window (a boundary between the requests resets the count).
        mid_window = time_machine.travel(datetime(2026, 5, 1, 12, 0, 5, tzinfo=UTC), tick=True)
        with self.settings(API_RATE_LIMIT_PER_MINUTE=2), mid_window:
            for _ in range(2):
                self.assertEqual(self.api_get("/webhooks").status_code, 200)
            limited = self.api_get("/webhooks")
        self.assertApiError(limited, 429, "rate_limited")
        self.assertGreaterEqual(int(limited["Retry-After"]), 1)
