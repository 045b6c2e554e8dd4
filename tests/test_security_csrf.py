"""CSRF: every route that a browser session can post to refuses a POST without the token.

The routes come from the URL resolver (as in the route sweep), so a new form is
covered without touching this file. Views exempt from Django's CSRF check must
be listed in CSRF_EXEMPT with the reason they need no token: an API
authenticated by a key in a header, or a public endpoint authorised by an
unguessable token in its URL and carrying no session.
"""

from __future__ import annotations

from django.test import Client
from django.urls import resolve

from tests.base import PASSWORD, BaseTestCase
from tests.test_security_base import Acme, seed_acme
from tests.test_security_routes import PUBLIC_ROUTES, all_routes, fill

# Route pattern prefix → why no CSRF token is needed there.
CSRF_EXEMPT: dict[str, str] = {
    "api/v1/": "REST API: a Bearer key in a header, never a cookie; a browser cannot forge it",
    "delighted/v1/": "Delighted API: Basic auth with a key, never a cookie",
    "r/": "respondent page: no session or cookie; the invitation token in the URL authorises",
    "s/": "public survey link: no session; open to all by design, identity claims HMAC-signed",
    "k/": "kiosk page: no session; the device key in the URL authorises",
    "widget/v1/": "widget endpoints: cross-site by design, no cookies, origin-checked CORS",
    "u/": "one-click unsubscribe: mail providers POST it (RFC 8058) without any cookie",
}
CSRF_REFUSED = b"CSRF verification failed"


def exempt_reason(pattern: str) -> str | None:
    return next((why for prefix, why in CSRF_EXEMPT.items() if pattern.startswith(prefix)), None)


class CsrfTest(BaseTestCase):
    acme: Acme

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.acme = seed_acme(cls.workspace, cls.alice, cls.survey)

    def test_every_csrf_exempt_view_is_listed_with_its_reason(self) -> None:
        for route in all_routes():
            for url in fill(route, self.acme)[:1]:
                exempt = bool(getattr(resolve(url).func, "csrf_exempt", False))
                with self.subTest(route=route.pattern):
                    if exempt:
                        assert exempt_reason(route.pattern), (
                            f"{route.pattern} is csrf_exempt: only API and public token"
                            " endpoints may be; if it is one, add it to CSRF_EXEMPT in"
                            " tests/test_security_csrf.py with the reason"
                        )

    def test_the_exempt_routes_are_public_or_apis(self) -> None:
        for route in all_routes():
            if exempt_reason(route.pattern):
                assert route.is_public or route.kind in ("api", "delighted"), route.pattern
                assert route.pattern not in ("accounts/login/",)

    def test_a_post_without_the_token_is_refused_everywhere_else(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.alice)
        for route in all_routes():
            if exempt_reason(route.pattern):
                continue
            for url in fill(route, self.acme):
                with self.subTest(url=url):
                    response = client.post(url, {"name": "x", "email": "x@example.org"})
                    assert response.status_code == 403, (url, response.status_code)
                    assert CSRF_REFUSED in response.content, url

    def test_the_public_forms_need_the_token_too(self) -> None:
        """Login CSRF: a stranger's browser cannot be logged in to the attacker's account."""
        client = Client(enforce_csrf_checks=True)
        for pattern in ("accounts/login/", "accounts/password-reset/", "i18n/setlang/"):
            assert pattern in PUBLIC_ROUTES
            response = client.post(
                "/" + pattern, {"username": "alice@example.org", "password": PASSWORD}
            )
            assert response.status_code == 403
            assert CSRF_REFUSED in response.content

    def test_with_the_token_the_same_forms_work(self) -> None:
        """The refusals above are the token's doing, not something else."""
        client = Client(enforce_csrf_checks=True)
        client.get("/accounts/login/")
        token = client.cookies["csrftoken"].value
        response = client.post(
            "/accounts/login/",
            {"username": "alice@example.org", "password": PASSWORD, "csrfmiddlewaretoken": token},
        )
        assert response.status_code == 302
        page = client.get("/w/acme/team/invite/")
        token = client.cookies["csrftoken"].value
        assert token
        response = client.post(
            "/w/acme/team/invite/",
            {"email": "dana@example.org", "role": "agent", "csrfmiddlewaretoken": token},
        )
        assert page.status_code == 200
        assert response.status_code == 302
