"""When the database is unreachable: 503 + Retry-After, never a 500 with a stack trace.

A database restart, a failover or a full connection pool lasts seconds. During it,
`DatabaseUnavailableMiddleware` answers requests whose view hit a *connection* error
(not a bug: a missing table or a bad query stays a 500) with:

- JSON `{"error": {"code": "unavailable", …}}` for API clients (/api/, /delighted/,
  /widget/, or a request that asks for JSON);
- a plain HTML page otherwise, in the respondent's language, whose "Try again" button
  posts the same form again, so an answer typed into a respondent page is not lost
  (the page's script, kaiku/static/kaiku/respond.js, retries on its own first).

Both carry `Retry-After` and `Cache-Control: no-store`. Nothing here touches the
database or the session. Recovery needs no restart: Django closes a connection that
failed at the end of the request (CONN_HEALTH_CHECKS), and the next request opens a
new one. `server_error` (settings' handler500) does the same for a connection error
that escapes a middleware rather than a view.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from collections.abc import Callable
from html import escape
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.templatetags.static import static
from django.utils import translation
from django.views import defaults

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
JSON_PREFIXES = ("/api/", "/delighted/", "/widget/")
# PostgreSQL SQLSTATEs that mean "cannot serve you now", not "your query is wrong":
# connection exceptions (class 08), shutdowns and start-ups (57P01-57P03), too many
# connections (53300).
_PG_UNAVAILABLE = ("08", "57P01", "57P02", "57P03", "53300")
# SQLite errors that pass: another writer holds the lock past the busy timeout, the
# file cannot be opened right now (volume being remounted), an I/O error.
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database", "disk i/o error")

# The page's few words in Kaiku's languages. Here, not in the .po catalogues, so that
# the module stays self-contained; they render without the database either way.
TEXTS = {
    "en": (
        "Please try again in a moment",
        "We could not reach our database just now. Nothing you entered is lost: "
        "press the button to send it again.",
        "This page is briefly unavailable. Please try again in a moment.",
        "Try again",
    ),
    "fi": (
        "Yritä hetken kuluttua uudelleen",
        "Emme juuri nyt saaneet yhteyttä tietokantaamme. Syöttämäsi tiedot eivät ole "
        "kadonneet: lähetä ne uudelleen painikkeella.",
        "Sivu ei ole hetkeen käytettävissä. Yritä hetken kuluttua uudelleen.",
        "Yritä uudelleen",
    ),
    "et": (
        "Palun proovige hetke pärast uuesti",
        "Me ei jõudnud praegu oma andmebaasini. Teie sisestatud andmed ei ole kadunud: "
        "vajutage nuppu, et need uuesti saata.",
        "See leht pole hetkel saadaval. Palun proovige hetke pärast uuesti.",
        "Proovi uuesti",
    ),
}


def database_unavailable(exc: BaseException) -> bool:
    """True for errors that mean the database cannot be reached or cannot serve now."""
    if isinstance(exc, InterfaceError):  # the connection is closed or unusable
        return True
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    if isinstance(cause, sqlite3.Error):
        message = str(cause).lower()
        return any(text in message for text in _SQLITE_UNAVAILABLE)
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate:
        return str(sqlstate).startswith(_PG_UNAVAILABLE)
    # psycopg raises OperationalError without a SQLSTATE when it cannot connect or
    # the server went away mid-query: the server never answered.
    return True


class DatabaseUnavailableMiddleware:
    """Turn a view's database connection error into a 503 with Retry-After."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not database_unavailable(exception):
            return None
        logger.warning("database unavailable on %s %s: %s", request.method, request.path, exception)
        return unavailable_response(request)


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """handler500: a 503 when the error escaping a middleware is a connection error."""
    exc = sys.exc_info()[1]
    if exc is not None and database_unavailable(exc):
        return unavailable_response(request)
    return defaults.server_error(request, template_name)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return unavailable_json()
    response = _html(request)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def unavailable_json() -> JsonResponse:
    """The API's error shape (kaiku.api.errors) for a 503."""
    message = f"The service is briefly unavailable; retry in {RETRY_AFTER_SECONDS} s."
    body = {"error": {"code": "unavailable", "message": message, "field": None}}
    response = JsonResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def _wants_json(request: HttpRequest) -> bool:
    if request.path.startswith(JSON_PREFIXES):
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def _html(request: HttpRequest) -> HttpResponse:
    language = _language(request)
    title, posted_text, page_text, button = TEXTS[language]
    resend = _resend_fields(request)
    if resend is not None:
        fields = "".join(
            f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
            for name, value in resend
        )
        action = escape(request.get_full_path())
        body = (
            f"<p>{escape(posted_text)}</p>"
            f'<form method="post" action="{action}">{fields}'
            f'<button type="submit" class="primary">{escape(button)}</button></form>'
        )
    else:
        href = escape(request.get_full_path())
        body = (
            f'<p>{escape(page_text)}</p><p><a class="button" href="{href}">{escape(button)}</a></p>'
        )
    page = (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow">'
        f"<title>{escape(title)}</title>"
        f'<link rel="stylesheet" href="{escape(_stylesheet())}"></head>'
        f'<body><main id="main"><section class="message" role="alert">'
        f"<h1>{escape(title)}</h1>{body}</section></main></body></html>"
    )
    return HttpResponse(page, status=503, content_type="text/html; charset=utf-8")


def _resend_fields(request: HttpRequest) -> list[tuple[str, str]] | None:
    """The posted form's fields to post again, or None (not a form post, or a file upload).

    Passwords are never written back into a page.
    """
    if request.method != "POST" or request.content_type not in _FORM_TYPES:
        return None
    try:
        if request.FILES:
            return None
        items: Any = request.POST.lists()
    except Exception:  # an unreadable body: offer a plain reload instead
        return None
    return [
        (name, value)
        for name, values in items
        if "password" not in name.lower()
        for value in values
    ]


def _language(request: HttpRequest) -> str:
    """The respondent page's posted `lang`, else the negotiated language, else English."""
    candidates = []
    if request.method == "POST" and request.content_type in _FORM_TYPES:
        try:
            candidates.append(request.POST.get("lang", ""))
        except Exception:  # an unreadable body
            logger.debug("unreadable POST body on the 503 page", exc_info=True)
    # Accept-Language and the language cookie, also where LocaleMiddleware does not run.
    candidates += [request.GET.get("lang", ""), translation.get_language_from_request(request)]
    for candidate in candidates:
        code = candidate.lower().split("-")[0]
        if code in TEXTS:
            return code
    return "en"


def _stylesheet() -> str:
    try:
        return static("kaiku/respond.css")
    except ValueError:  # no collectstatic manifest yet: the page still works unstyled
        return "/static/kaiku/respond.css"
