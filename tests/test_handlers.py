"""kaiku.wsgi's application: cookie-less routes get the shorter middleware stacks.

Django's test client always runs settings.MIDDLEWARE, so these tests call the WSGI
application itself, as granian does, for what the shorter stacks must keep
(security headers, NUL refusal, the trailing-slash redirect, Accept-Language on the
API, another workspace refused) and what they drop (sessions, CSRF, messages).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

from kaiku.lib.handlers import PrefixRouter, StackHandler, application
from kaiku.responses.models import Response
from tests.test_api_base import ApiTestCase

COOKIE_MIDDLEWARE = {
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
}
KEPT = [
    "django.middleware.security.SecurityMiddleware",
    "kaiku.lib.security.SecurityHeadersMiddleware",
    "kaiku.lib.nul.RefuseNulCharactersMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "kaiku.lib.middleware.DatabaseUnavailableMiddleware",
]
APP = application()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@contextmanager
def transaction_kept() -> Iterator[None]:
    # A WSGI request closes "old" connections at its start and end, which would close
    # the test's transaction; the test client unhooks the same signal.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def call(
    path: str,
    method: str = "GET",
    body: bytes = b"",
    content_type: str = "",
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request through kaiku.wsgi's application."""
    path, _, query = path.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        **{
            f"HTTP_{name.upper().replace('-', '_')}": value
            for name, value in (headers or {}).items()
        },
    }
    started: list[Any] = []
    with transaction_kept():
        chunks = APP(environ, lambda status, headers, *_: started.append((status, headers)))
        content = b"".join(chunks)
        getattr(chunks, "close", lambda: None)()
    status, header_list = started[0]
    return Answer(int(status.split()[0]), dict(header_list), content)


class StacksTests(ApiTestCase):
    def test_each_cookieless_prefix_has_its_stack_and_the_rest_the_full_one(self) -> None:
        assert isinstance(APP, PrefixRouter)
        assert type(APP.default) is WSGIHandler
        stacks = dict(APP.routes)
        respondent = stacks[("/r/", "/s/", "/k/", "/widget/")]
        apis = stacks[("/api/", "/delighted/")]
        assert isinstance(respondent, StackHandler)
        assert isinstance(apis, StackHandler)
        assert respondent.middleware == KEPT
        assert apis.middleware == [
            *KEPT[:2],
            "kaiku.lib.language.AcceptLanguageMiddleware",
            *KEPT[2:],
        ]
        assert not COOKIE_MIDDLEWARE & {*respondent.middleware, *apis.middleware}
        assert set(settings.MIDDLEWARE) >= COOKIE_MIDDLEWARE, "the full stack keeps them"

    def test_an_answer_through_the_public_link_keeps_the_page_headers_and_sets_no_cookie(
        self,
    ) -> None:
        page = call(f"/s/{self.survey.public_id}/", headers={"Cookie": self.alices_session()})
        assert page.status == 200
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        assert page.headers["X-Frame-Options"] == "DENY"
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert "Set-Cookie" not in page.headers
        assert "Cookie" not in page.headers.get("Vary", ""), "no session was looked at"
        form = urlencode({"score": "9", "lang": "fi", "nonce": "handlers-test-nonce-1"})
        posted = call(
            f"/s/{self.survey.public_id}/",
            "POST",
            form.encode(),
            "application/x-www-form-urlencoded",
        )
        assert posted.status == 303, "no CSRF token needed: nothing rides on a cookie"
        assert "Set-Cookie" not in posted.headers
        answer = Response.objects.get(survey=self.survey)
        assert (answer.score, answer.language) == (9, "fi")
        assert posted.headers["Location"] == f"/s/{self.survey.public_id}/{answer.edit_token}/"

    def test_the_short_stacks_still_refuse_nul_and_add_the_trailing_slash(self) -> None:
        assert call(f"/s/{self.survey.public_id}/?lang=f%00i").status == 400
        moved = call(f"/s/{self.survey.public_id}")
        assert moved.status == 301
        assert moved.headers["Location"] == f"/s/{self.survey.public_id}/"

    def test_the_api_answers_in_the_callers_language_and_refuses_other_workspaces(self) -> None:
        refused = self.post_answer(self.write_token, score=11, language="fi")
        assert refused.status == 422
        assert refused.headers["Content-Language"] == "fi"
        assert refused.json()["error"]["message"].startswith("Arvosanan on oltava kokonaisluku")
        stored = self.post_answer(self.write_token, score=9)
        assert stored.status == 201
        answer_id = stored.json()["id"]
        other = call(
            f"/api/v1/responses/{answer_id}",
            headers={"Authorization": f"Bearer {self.charlies_token}"},
        )
        assert other.status == 404
        assert str(answer_id) not in other.body.decode()
        into_acme = self.post_answer(self.charlies_token, score=9)
        assert into_acme.status == 404
        assert not Response.objects.filter(workspace=self.charlies_workspace).exists()
        assert Response.objects.count() == 1

    def test_the_api_language_follows_the_header_only(self) -> None:
        cases = [("fi-FI,fi;q=0.9", "fi"), ("et", "et"), ("de, fi;q=0.5", "fi"), ("de", "en"),
                 ("*", "en"), ("", "en"), ("xx-!!", "en")]  # fmt: skip
        for header, language in cases:
            refused = self.post_answer(self.write_token, score=11, language=header)
            assert refused.status == 422
            assert refused.headers["Content-Language"] == language, header
            assert "Accept-Language" in refused.headers["Vary"]
        # Nothing on the APIs rides on a cookie, Django's language cookie neither.
        cookie = f"{settings.LANGUAGE_COOKIE_NAME}=fi"
        plain = call("/api/v1/surveys", headers={"Authorization": f"Bearer {self.write_token}",
                                                 "Cookie": cookie})  # fmt: skip
        assert plain.status == 200
        assert plain.headers["Content-Language"] == "en"

    def post_answer(self, token: str, score: int, language: str = "en") -> Answer:
        return call(
            "/api/v1/responses",
            "POST",
            json.dumps({"survey": self.survey.pk, "score": score}).encode(),
            "application/json",
            {"Authorization": f"Bearer {token}", "Accept-Language": language},
        )

    def test_other_routes_keep_the_full_stack(self) -> None:
        anonymous = call(f"/w/{self.workspace.slug}/")
        assert anonymous.status == 302
        assert anonymous.headers["Location"].startswith("/accounts/login/")
        signed_in = call(f"/w/{self.workspace.slug}/", headers={"Cookie": self.alices_session()})
        assert signed_in.status == 200, "the session is read there"
        login = call("/accounts/login/")
        assert "csrftoken" in login.headers.get("Set-Cookie", "")

    def alices_session(self) -> str:
        client = Client()
        client.force_login(self.alice)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        assert client.session[SESSION_KEY]
        return f"{settings.SESSION_COOKIE_NAME}={session}"
