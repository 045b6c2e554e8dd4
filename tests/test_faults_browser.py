"""The respondent page keeps the answer through a 503, with and without JavaScript.

With JavaScript, respond.js posts the form with fetch and retries 502/503/504 after
Retry-After (here Playwright answers the first two POSTs with a 503). Without it, the
real 503 page of kaiku.lib.middleware (the database "down" for one request) has a
"Try again" button that posts the same form again. Either way: one answer stored.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest

from kaiku.accounts.models import Workspace
from kaiku.responses import views
from kaiku.responses.models import Response
from kaiku.surveys.models import Survey
from tests.test_faults_database import connection_error
from tests.test_respond_browser import open_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def make_survey() -> Survey:
    workspace = Workspace.objects.create(name="Acme", slug="acme")
    return Survey.objects.create(workspace=workspace, name="Relationship NPS")


def test_the_script_retries_a_503_and_the_answer_is_stored_once(
    live_server: Any, browser: Any
) -> None:
    survey = make_survey()
    page = open_page(browser, f"{live_server.url}/s/{survey.public_id}/")
    posts: list[str] = []

    def answer_503_twice(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        posts.append(route.request.post_data or "")
        if len(posts) <= 2:
            route.fulfill(status=503, headers={"Retry-After": "1"}, body="busy")
        else:
            route.continue_()

    page.route(f"**/s/{survey.public_id}/", answer_503_twice)
    page.locator("label[for=score-8]").click()  # a tap on a score sends it
    page.wait_for_url(f"**/s/{survey.public_id}/*/", timeout=20_000)
    assert len(posts) == 3, posts
    assert len(set(posts)) == 1, "every retry sends the same form (same nonce)"
    assert "score=8" in posts[0]
    answer = Response.objects.get()
    assert answer.score == 8
    assert page.csp_violations == []
    page.context.close()


def test_without_javascript_the_503_page_posts_the_answer_again(
    live_server: Any, browser: Any
) -> None:
    survey = make_survey()
    real, calls = views._public, []

    def down_once(request: Any, public_id: str, **options: Any) -> Any:
        calls.append(public_id)
        if len(calls) == 1:
            raise connection_error()
        return real(request, public_id, **options)

    outage = mock.patch.object(views, "_public", side_effect=down_once)
    page = open_page(browser, f"{live_server.url}/s/{survey.public_id}/", javascript=False)
    with outage:
        page.locator("label[for=score-6]").click()
        page.get_by_role("button", name="Send").click()
        page.get_by_role("heading", name="Please try again in a moment").wait_for()
        assert not Response.objects.exists()
        page.get_by_role("button", name="Try again").click()
        page.wait_for_url(f"**/s/{survey.public_id}/*/")
    assert Response.objects.get().score == 6
    page.context.close()
