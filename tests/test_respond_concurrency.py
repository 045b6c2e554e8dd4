"""Races on PostgreSQL: double clicks, retries and concurrent submissions give one answer.

Real threads with their own database connections, released together by a
barrier, against committed data (transactional_db), so the unique constraints
and row locks are what decide, as in production.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from kaiku.accounts.models import Workspace
from kaiku.contacts.models import Contact
from kaiku.responses.actions import record_response
from kaiku.responses.models import Channel, Response
from kaiku.surveys.models import Invitation, InvitationStatus, Survey

THREADS = 8
pytestmark = [pytest.mark.postgres]


@pytest.fixture
def survey(transactional_db: None) -> Survey:
    workspace = Workspace.objects.create(name="Acme", slug="acme")
    return Survey.objects.create(workspace=workspace, name="NPS")


@pytest.fixture
def invitation(survey: Survey) -> Invitation:
    contact = Contact.objects.create(workspace=survey.workspace, email="dana@example.org")
    return Invitation.objects.create(workspace=survey.workspace, survey=survey, contact=contact)


def all_at_once(work: Callable[[int], Any]) -> list[Any]:
    """Run work(i) in THREADS threads released at the same moment."""
    barrier = threading.Barrier(THREADS)

    def run(i: int) -> Any:
        try:
            barrier.wait(timeout=10)
            return work(i)
        finally:
            connection.close()  # each thread opened its own connection

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(run, range(THREADS)))


def test_one_invitation_answered_eight_times_at_once_is_one_response(
    invitation: Invitation,
) -> None:
    def answer(i: int) -> tuple[int, bool]:
        recorded = record_response(
            survey=invitation.survey, score=i, channel=Channel.EMAIL, invitation=invitation
        )
        return recorded.response.pk, recorded.created

    results = all_at_once(answer)
    assert Response.objects.count() == 1
    assert len({pk for pk, _created in results}) == 1
    assert sum(created for _pk, created in results) == 1
    assert Response.objects.get().score in range(THREADS)  # whichever came last
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.RESPONDED


def test_one_idempotency_key_sent_eight_times_at_once_is_one_response(survey: Survey) -> None:
    def answer(i: int) -> tuple[int, bool]:
        recorded = record_response(
            survey=survey, score=i, channel=Channel.API, idempotency_key="retry-1"
        )
        return recorded.response.pk, recorded.created

    results = all_at_once(answer)
    assert Response.objects.count() == 1
    assert len({pk for pk, _created in results}) == 1
    assert sum(created for _pk, created in results) == 1
    # A retry never rewrites: the stored score is the first request's.
    winner = Response.objects.get()
    assert [created for pk, created in results].count(True) == 1
    assert winner.score in range(THREADS)


def test_eight_clicks_on_one_email_button_are_one_response(invitation: Invitation) -> None:
    url = reverse("respond:invitation", args=[invitation.token])

    def click(_i: int) -> int:
        return Client().post(url, {"score": "9"}).status_code

    assert all_at_once(click) == [303] * THREADS
    assert Response.objects.count() == 1


def test_one_public_form_submitted_eight_times_at_once_is_one_response(survey: Survey) -> None:
    url = reverse("respond:public", args=[survey.public_id])

    def click(_i: int) -> str:
        return Client().post(url, {"score": "9", "nonce": "n" * 22})["Location"]

    locations = all_at_once(click)
    assert Response.objects.count() == 1
    assert len(set(locations)) == 1


def test_the_answer_is_committed_when_the_reply_arrives(invitation: Invitation) -> None:
    url = reverse("respond:invitation", args=[invitation.token])
    reply = Client().post(url, {"score": "4"})
    assert reply.status_code == 303

    seen: list[int] = []

    def look() -> None:
        # Another connection sees only committed rows.
        try:
            seen.append(Response.objects.filter(invitation=invitation).count())
        finally:
            connection.close()

    thread = threading.Thread(target=look)
    thread.start()
    thread.join()
    assert seen == [1]
