"""Workspace.webhook_events: kept by every endpoint write, read by the answer path.

The answer pages and the API read the workspace with the survey; when that fresh
row says no endpoint subscribes to an event, no endpoint query runs per answer.
Too few types there would lose events, so every write that changes what an
endpoint listens to is checked here, and so is the answer path both ways.
"""

from __future__ import annotations

import threading
from importlib import import_module
from typing import Any, ClassVar

import pytest
from django.apps import apps
from django.db import connection, connections, transaction
from django.test import TransactionTestCase, override_settings
from django.test.utils import CaptureQueriesContext

from kaiku.accounts.models import Workspace
from kaiku.api.actions import create_api_key
from kaiku.api.models import Scope
from kaiku.surveys.models import Survey
from kaiku.webhooks import subscriptions
from kaiku.webhooks.actions import (
    create_endpoint,
    delete_endpoint,
    enable_endpoint,
    update_endpoint,
)
from kaiku.webhooks.delivery import DISABLE_AFTER_FAILURES, disable_if_failing
from kaiku.webhooks.models import WebhookEndpoint, WebhookEvent
from kaiku.webhooks.subscriptions import READ_IS_FRESH, none_listens
from tests.base import BaseTestCase
from tests.smtp import IMMEDIATE_TASKS

URL = "http://127.0.0.1:9/kaiku"  # never called: deliveries are not run here
SETTINGS = override_settings(TASKS=IMMEDIATE_TASKS, WEBHOOKS_ALLOW_PRIVATE=True)
ENDPOINT_TABLE = WebhookEndpoint._meta.db_table
_fill = import_module("kaiku.webhooks.migrations.0002_fill_workspace_webhook_events").fill


def subscribed(workspace: Workspace) -> list[str]:
    return list(Workspace.objects.values_list("webhook_events", flat=True).get(pk=workspace.pk))


def endpoint_queries(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if ENDPOINT_TABLE in q["sql"]]


@SETTINGS
class EveryEndpointWriteKeepsTheListTests(BaseTestCase):
    def add(self, events: list[str], workspace: Workspace | None = None) -> WebhookEndpoint:
        endpoint, _secret = create_endpoint(workspace or self.workspace, url=URL, events=events)
        return endpoint

    def test_create_adds_the_endpoints_types_to_the_union(self) -> None:
        self.add(["response.created"])
        self.add(["contact.unsubscribed", "response.created"])
        assert subscribed(self.workspace) == ["contact.unsubscribed", "response.created"]
        assert subscribed(self.charlies_workspace) == []

    def test_update_replaces_what_the_endpoint_listens_to(self) -> None:
        endpoint = self.add(["response.created"])
        update_endpoint(
            endpoint,
            url=URL,
            events=["response.updated"],
            payload_format=endpoint.payload_format,
            description="",
        )
        assert subscribed(self.workspace) == ["response.updated"]

    def test_a_disabled_endpoint_no_longer_counts_and_enabling_brings_it_back(self) -> None:
        endpoint = self.add(["response.created"])
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            consecutive_failures=DISABLE_AFTER_FAILURES
        )
        with self.captureOnCommitCallbacks(execute=False):
            assert disable_if_failing(endpoint.pk, "HTTP 500")
        assert subscribed(self.workspace) == []
        assert enable_endpoint(endpoint)
        assert subscribed(self.workspace) == ["response.created"]

    def test_delete_removes_only_that_endpoints_types(self) -> None:
        keep = self.add(["response.created"])
        drop = self.add(["response.updated"])
        delete_endpoint(drop)
        assert subscribed(self.workspace) == ["response.created"]
        delete_endpoint(keep)
        assert subscribed(self.workspace) == []

    def test_another_workspaces_endpoints_do_not_count(self) -> None:
        self.add(["response.created"], workspace=self.charlies_workspace)
        assert subscribed(self.workspace) == []
        assert subscribed(self.charlies_workspace) == ["response.created"]

    def test_the_migration_fills_the_list_from_existing_active_endpoints(self) -> None:
        self.add(["response.created"])
        off = self.add(["contact.unsubscribed"])
        WebhookEndpoint.objects.filter(pk=off.pk).update(is_active=False)
        Workspace.objects.update(webhook_events=[])
        _fill(apps, None)
        assert subscribed(self.workspace) == ["response.created"]
        assert subscribed(self.charlies_workspace) == []


class NoneListensTests(BaseTestCase):
    def fresh(self) -> Workspace:
        return Workspace.objects.get(pk=self.workspace.pk)

    def test_a_fresh_read_without_subscribers_answers_without_a_query(self) -> None:
        workspace = self.fresh()
        with self.assertNumQueries(0):
            assert none_listens(workspace, "response.created")

    def test_a_subscribed_type_may_listen(self) -> None:
        Workspace.objects.filter(pk=self.workspace.pk).update(webhook_events=["response.created"])
        workspace = self.fresh()
        assert not none_listens(workspace, "response.created")
        assert none_listens(workspace, "response.updated")

    def test_only_a_fresh_complete_read_speaks_for_the_endpoints(self) -> None:
        built = Workspace(name="In memory", slug="in-memory")  # never read: unknown
        assert not none_listens(built, "response.created")
        old = self.fresh()
        assert old.read_at is not None
        old.read_at -= READ_IS_FRESH + 1  # kept since an earlier request
        assert not none_listens(old, "response.created")
        partial = Workspace.objects.only("name").get(pk=self.workspace.pk)
        with self.assertNumQueries(0):
            assert not none_listens(partial, "response.created")


@SETTINGS
class AnswerPathTests(BaseTestCase):
    token: ClassVar[str]

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        _key, cls.token = create_api_key(cls.workspace, "ci", Scope.READ_WRITE, None, None)

    def post_public(self, nonce: str) -> Any:
        return self.client.post(
            f"/s/{self.survey.public_id}/", {"score": 9, "lang": "en", "nonce": nonce}
        )

    def post_api(self, key: str) -> Any:
        return self.client.post(
            "/api/v1/responses",
            {"survey": self.survey.pk, "score": 9, "idempotency_key": key},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {self.token}",
        )

    def test_no_endpoint_query_per_answer_when_nobody_listens(self) -> None:
        create_endpoint(self.workspace, url=URL, events=["contact.unsubscribed"])
        create_endpoint(self.charlies_workspace, url=URL, events=["response.created"])
        for post, key in ((self.post_public, "form-sub-0001"), (self.post_api, "api-sub-1")):
            with CaptureQueriesContext(connection) as queries:
                assert post(key).status_code in (201, 303)
            assert endpoint_queries(queries) == []
        assert not WebhookEvent.objects.exists()

    def test_a_listening_endpoint_gets_the_event_from_both_paths(self) -> None:
        with self.captureOnCommitCallbacks(execute=False):
            create_endpoint(self.workspace, url=URL, events=["response.created"])
        with self.captureOnCommitCallbacks(execute=False):
            assert self.post_public("form-sub-0002").status_code == 303
            assert self.post_api("api-sub-2").status_code == 201
        events = WebhookEvent.objects.filter(workspace=self.workspace, type="response.created")
        assert events.count() == 2


@pytest.mark.postgres
@SETTINGS
class ConcurrentWritesTests(TransactionTestCase):
    """Two endpoint writes at once: the second waits and sees the first's endpoint."""

    def test_the_second_write_counts_the_first_writes_endpoint(self) -> None:
        workspace = Workspace.objects.create(name="Race", slug="race")
        Survey.objects.create(workspace=workspace, name="NPS")
        locked, finished = threading.Event(), threading.Event()

        def first() -> None:
            try:
                with transaction.atomic():
                    WebhookEndpoint(
                        workspace=workspace, url=URL, events=["response.created"]
                    ).save()
                    subscriptions.refresh(workspace.pk)  # holds the workspace row
                    locked.set()
                    _wait_for_a_lock_waiter()
            finally:
                connections.close_all()
                finished.set()

        thread = threading.Thread(target=first)
        thread.start()
        assert locked.wait(10)
        # Blocks on the workspace row until `first` commits, then counts its endpoint.
        create_endpoint(workspace, url=URL, events=["response.updated"])
        thread.join(10)
        assert finished.is_set()
        assert subscribed(workspace) == ["response.created", "response.updated"]


def _wait_for_a_lock_waiter() -> None:
    with connection.cursor() as cursor:
        for _ in range(500):
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                return
            threading.Event().wait(0.01)
    raise AssertionError("the second write never waited for the workspace row")
