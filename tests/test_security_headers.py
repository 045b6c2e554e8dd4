"""Security headers: the Content-Security-Policy, frame denial, HSTS in production.

The policy itself lives in kaiku/lib/security.py. That every page still works
under it in a real browser is test_security_xss.py's page sweep; here are the
headers, the per-view exceptions, and a check of the templates themselves.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from django.test import Client, override_settings

from kaiku.lib.security import APP_POLICY, inline_style_sources, policy_header, sha256_source
from kaiku.responses.pages import brand_style
from tests.base import BaseTestCase
from tests.test_api_base import LOCMEM_CACHE
from tests.test_security_base import Acme, seed_acme

ROOT = Path(__file__).resolve().parent.parent
STRICT = policy_header(APP_POLICY)
SITE = "https://shop.acme.example"


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


@override_settings(CACHES=LOCMEM_CACHE)
class HeaderTest(BaseTestCase):
    acme: Acme

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.acme = seed_acme(cls.workspace, cls.alice, cls.survey)
        cls.survey.widget_origins = [SITE]
        cls.survey.save(update_fields=["widget_origins"])

    def test_app_pages_get_the_strict_policy(self) -> None:
        alice = Client()
        alice.force_login(self.alice)
        pages = [
            (Client(), "/accounts/login/"),
            (alice, "/w/acme/"),
            (alice, f"/w/acme/surveys/{self.survey.pk}/dashboard/"),
        ]
        for client, url in pages:
            with self.subTest(url=url):
                response = client.get(url)
                assert response.status_code == 200
                assert response["Content-Security-Policy"] == STRICT
                policy = directives(response["Content-Security-Policy"])
                assert policy["script-src"] == ["'self'"]
                assert policy["style-src"] == ["'self'"]
                assert policy["img-src"] == ["'self'", "data:"]
                assert policy["frame-ancestors"] == ["'none'"]
                assert policy["form-action"] == ["'self'"]
                assert policy["base-uri"] == ["'none'"]
                assert "'unsafe-inline'" not in response["Content-Security-Policy"]
                assert "'unsafe-eval'" not in response["Content-Security-Policy"]
                assert response["X-Frame-Options"] == "DENY"
                assert response["X-Content-Type-Options"] == "nosniff"
                assert response["Referrer-Policy"] == "same-origin"
                assert response["Cross-Origin-Opener-Policy"] == "same-origin"
                assert "camera=()" in response["Permissions-Policy"]

    def test_errors_and_api_answers_carry_it_too(self) -> None:
        for url in ("/w/acme/", "/api/v1/surveys", "/nowhere/", "/api/v1/openapi.json"):
            response = Client().get(url)
            assert response["Content-Security-Policy"] == STRICT, url
            assert response["X-Frame-Options"] == "DENY", url

    def test_respondent_pages_keep_their_own_stricter_policy(self) -> None:
        response = Client().get(f"/r/{self.acme.invitation.token}/")
        assert response.status_code == 200
        policy = directives(response["Content-Security-Policy"])
        assert policy["default-src"] == ["'none'"]
        assert policy["style-src"] == ["'self'", brand_style(self.survey)[1]]
        assert policy["frame-ancestors"] == ["'none'"]
        assert response["X-Frame-Options"] == "DENY"

    def test_the_widget_can_be_used_from_any_site(self) -> None:
        script = Client().get("/widget/v1/kaiku.js")
        eligibility = Client().get(
            f"/widget/v1/surveys/{self.survey.public_id}/eligibility", headers={"origin": SITE}
        )
        for response in (script, eligibility):
            assert response.status_code == 200
            assert "X-Frame-Options" not in response
            assert directives(response["Content-Security-Policy"])["frame-ancestors"] == ["*"]
        assert script["Cross-Origin-Resource-Policy"] == "cross-origin"
        assert eligibility["Access-Control-Allow-Origin"] == SITE

    def test_the_report_allows_exactly_its_own_print_styles(self) -> None:
        self.login_as(self.alice)
        response = self.client.get(f"/w/acme/surveys/{self.survey.pk}/dashboard/report/")
        assert response.status_code == 200
        html = response.content.decode()
        style = re.search(r"<style>(.*?)</style>", html, re.S)
        assert style is not None
        styles = directives(response["Content-Security-Policy"])["style-src"]
        assert styles == ["'self'", sha256_source(style.group(1))]

    def test_the_text_previews_allow_exactly_their_inline_styles(self) -> None:
        """The previews are srcdoc iframes, which inherit the page's policy."""
        self.login_as(self.alice)
        response = self.client.get(f"/w/acme/surveys/{self.survey.pk}/texts/")
        assert response.status_code == 200
        styles = directives(response["Content-Security-Policy"])["style-src"]
        assert styles[0] == "'self'"
        assert brand_style(self.survey)[1] in styles  # the respondent page's <style>
        assert "'unsafe-hashes'" in styles  # the email's style attributes
        assert "'unsafe-inline'" not in styles

    def test_style_hashes_cover_blocks_and_attributes_only(self) -> None:
        markup = '<style>p{color:red}</style><p style="color: &quot;x&quot;">x</p>'
        assert inline_style_sources(markup) == [
            sha256_source("p{color:red}"),
            "'unsafe-hashes'",
            sha256_source('color: "x"'),
        ]
        assert inline_style_sources("<p>no styles</p>") == []


class ProductionHeaderTest(BaseTestCase):
    def test_production_sends_hsts_and_secure_cookies(self) -> None:
        """KAIKU_DEBUG=false, in a fresh process: HSTS on HTTPS answers, secure cookies."""
        script = (
            "import django, json; django.setup();"
            "from django.conf import settings; from django.test import Client;"
            "r = Client().get('/api/v1/openapi.json', secure=True);"
            "print(json.dumps({'hsts': r.get('Strict-Transport-Security'),"
            " 'xfo': r.get('X-Frame-Options'), 'csp': r.get('Content-Security-Policy'),"
            " 'session': settings.SESSION_COOKIE_SECURE, 'csrf': settings.CSRF_COOKIE_SECURE}))"
        )
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "kaiku.settings",
            "KAIKU_DEBUG": "false",
            "KAIKU_SECRET_KEY": "p" * 40,
            "KAIKU_ALLOWED_HOSTS": "testserver",
            "KAIKU_DATABASE_URL": "sqlite:///:memory:",
        }
        result = subprocess.run(
            [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        headers = json.loads(result.stdout.strip().splitlines()[-1])
        assert headers["hsts"] == "max-age=31536000"
        assert headers["xfo"] == "DENY"
        assert headers["csp"] == STRICT
        assert headers["session"] is True
        assert headers["csrf"] is True

    def test_development_sends_no_hsts(self) -> None:
        assert "Strict-Transport-Security" not in Client().get("/accounts/login/", secure=True)


# --- The templates themselves ---------------------------------------------------------------

# Inline styles allowed by hash, view by view (kaiku/lib/security.py).
INLINE_STYLE_TEMPLATES = {
    "responses/templates/respond/base.html": "brand colours; its own CSP carries the hash",
    "insights/templates/insights/report.html": "print styles shared with the PDF; hashed",
}
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"""\son[a-z]+\s*=\s*["']""", re.I)
STYLE_ATTRIBUTE = re.compile(r"""\sstyle\s*=\s*["']""", re.I)
STYLE_BLOCK = re.compile(r"<style\b", re.I)


def page_templates() -> list[Path]:
    """Templates of pages served under the CSP: not emails, which mail clients render."""
    return [
        path
        for path in (ROOT / "kaiku").rglob("templates/**/*.html")
        if not {"email", "emails"} & set(path.parts)
    ]


def test_no_page_template_has_inline_scripts_handlers_or_styles() -> None:
    problems = []
    for path in page_templates():
        text = path.read_text()
        name = str(path.relative_to(ROOT / "kaiku"))
        if INLINE_SCRIPT.search(text):
            problems.append(f"{name}: inline <script>; move it to a static .js file")
        if EVENT_HANDLER.search(text) or "javascript:" in text:
            problems.append(
                f"{name}: inline event handler; use data-confirm, data-submit-on-change,"
                " data-select-on-focus (kaiku/static/kaiku/app.js) or a static .js file"
            )
        if STYLE_ATTRIBUTE.search(text):
            problems.append(f"{name}: style attribute; use a class (e.g. pct-0…pct-100 widths)")
        if STYLE_BLOCK.search(text) and name not in INLINE_STYLE_TEMPLATES:
            problems.append(f"{name}: <style> block; move it to a static .css file")
    assert problems == [], (
        "The Content-Security-Policy (kaiku/lib/security.py) blocks these:\n" + "\n".join(problems)
    )


def test_the_template_check_sees_the_templates() -> None:
    names = {str(path.relative_to(ROOT / "kaiku")) for path in page_templates()}
    assert "templates/base.html" in names
    assert set(INLINE_STYLE_TEMPLATES) <= names
