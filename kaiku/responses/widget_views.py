"""Web widget endpoints: the script, eligibility and answers. Thin: parse, act, respond.

Public and cross-origin. Each survey lists the origins allowed to use it
(Survey.widget_origins); only those get `Access-Control-Allow-Origin`, and any
other `Origin` is refused with 403 before anything else happens. Nothing here
reads or sets cookies: the script sends none (`credentials: "omit"`) and we
never touch the session or the CSRF token. See docs/widget.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cache, wraps
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import condition, require_http_methods, require_safe
from django_stubs_ext import StrOrPromise
from pydantic import ValidationError

from kaiku.lib.ratelimit import Limit, client_ip, hit_in_turn
from kaiku.responses import widget
from kaiku.responses.actions import AnswerRejected, record_response
from kaiku.responses.models import Channel
from kaiku.responses.pages import negotiate_language
from kaiku.surveys.models import Survey

SCRIPT_PATH = Path(__file__).resolve().parent.parent / "static" / "kaiku" / "widget" / "kaiku.js"
# /widget/v1/ is the API version, not a content hash: a fixed script must reach
# every customer's page within a day, and revalidation is a cheap 304 (ETag).
SCRIPT_CACHE_CONTROL = "public, max-age=86400, stale-while-revalidate=604800"
# Browsers cache a preflight at most this long (Chromium caps it at 2 hours).
PREFLIGHT_MAX_AGE = 3600
# An answer is a score, a comment of at most 5,000 characters and a few properties.
MAX_BODY_BYTES = 64 * 1024
# Page views ask for eligibility far more often than visitors answer, so its
# limits are this multiple of KAIKU_RATE_LIMIT_IP/SURVEY_PER_MINUTE. A busy
# site (or many users behind one office NAT) would otherwise lose its prompts.
ELIGIBILITY_LIMIT_FACTOR = 10
# AnswerRejected.code → HTTP status.
REJECTED_STATUS = {"invalid": 400, "unknown": 400, "closed": 409, "inactive": 409}

View = Callable[[HttpRequest, Survey], HttpResponseBase]


def error(status: int, code: str, message: StrOrPromise, field: str | None = None) -> JsonResponse:
    body = {"error": {"code": code, "message": str(message), "field": field}}
    return JsonResponse(body, status=status, headers={"Cache-Control": "no-store"})


# --- The script ---------------------------------------------------------------------


def _read_script() -> tuple[bytes, str]:
    content = SCRIPT_PATH.read_bytes()
    return content, hashlib.sha256(content).hexdigest()[:32]


# Read once per process in production; re-read in development so edits show at once.
_cached_script = cache(_read_script)


def _script() -> tuple[bytes, str]:
    return _read_script() if settings.DEBUG else _cached_script()


@require_safe
@gzip_page
@condition(etag_func=lambda request: _script()[1])
def script(request: HttpRequest) -> HttpResponse:
    """The widget script. A plain <script src> load needs no CORS; the `*` only lets
    pages that add crossorigin="anonymous" (for error details) load it too."""
    content, _etag = _script()
    return HttpResponse(
        content,
        content_type="text/javascript; charset=utf-8",
        headers={
            "Cache-Control": SCRIPT_CACHE_CONTROL,
            "Access-Control-Allow-Origin": "*",
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )


# --- CORS ---------------------------------------------------------------------------


def rate_limited(request: HttpRequest, survey: Survey) -> int:
    """Seconds to wait if this client or this survey is over its limit, else 0."""
    if request.method == "POST":
        scope, factor = "widget-answer", 1
    else:
        scope, factor = "widget-eligibility", ELIGIBILITY_LIMIT_FACTOR
    ip_limit = settings.RATE_LIMIT_IP_PER_MINUTE * factor
    survey_limit = settings.RATE_LIMIT_SURVEY_PER_MINUTE * factor
    return hit_in_turn(
        Limit(f"{scope}-ip", client_ip(request), ip_limit),
        Limit(f"{scope}-survey", str(survey.pk), survey_limit),
    )


def widget_endpoint(methods: str) -> Callable[[View], Callable[..., HttpResponseBase]]:
    """Look the survey up by its public id, refuse other origins, answer preflights,
    then call the view and add the CORS headers to whatever it returns."""

    def decorate(view: View) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapper(request: HttpRequest, public_id: str) -> HttpResponseBase:
            survey = Survey.objects.by_public_id(public_id)
            origin = request.headers.get("Origin")
            allowed = survey is not None and widget.origin_allowed(survey, origin)
            if survey is None:
                response: HttpResponseBase = error(404, "not_found", _("Not found."))
            elif not allowed:
                response = error(403, "origin", _("This website may not use this survey."))
            elif request.method == "OPTIONS":
                response = HttpResponse(status=204)
                response["Access-Control-Allow-Methods"] = f"{methods}, OPTIONS"
                response["Access-Control-Allow-Headers"] = "Content-Type"
                response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
            elif wait := rate_limited(request, survey):
                slow_down = _("Too many requests. Please try again later.")
                response = error(429, "rate_limited", slow_down)
                response["Retry-After"] = str(wait)
            else:
                response = view(request, survey)
            if allowed and origin:
                # The exact origin, never `*`, and never Allow-Credentials.
                response["Access-Control-Allow-Origin"] = origin
                response["Access-Control-Expose-Headers"] = "Retry-After"
            # Caches must not hand one origin's answer to another.
            patch_vary_headers(response, ["Origin"])
            return response

        # The only caller is a script on another site, which cannot hold our CSRF
        # token. These endpoints carry no ambient authority — no cookie or session
        # is read, the script sends none — and the Origin is checked above.
        return csrf_exempt(require_http_methods([methods, "OPTIONS"])(wrapper))

    return decorate


# --- Endpoints ----------------------------------------------------------------------


@widget_endpoint("GET")
def eligibility(request: HttpRequest, survey: Survey) -> HttpResponse:
    """Whether to show the prompt to this visitor, and what to show."""
    params = request.GET
    # ?lang= is the page's language; then the browser's; then the survey's default.
    language = negotiate_language(request, survey)
    payload = widget.eligibility_payload(
        survey, params.get("user_id"), params.get("user_hash"), language
    )
    return JsonResponse(payload, headers={"Cache-Control": "no-store"})


@widget_endpoint("POST")
def responses(request: HttpRequest, survey: Survey) -> HttpResponse:
    """Record a score; a second call with the edit_token adds the comment."""
    if len(request.body) > MAX_BODY_BYTES:
        return error(413, "too_large", _("The answer is too large."))
    try:
        data = json.loads(request.body)
    except ValueError:  # includes JSONDecodeError and UnicodeDecodeError
        data = None
    if not isinstance(data, dict):
        return error(400, "invalid", _("The request body must be a JSON object."))
    try:
        answer = widget.AnswerIn.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else None
        return error(400, "invalid", _("Enter a valid value."), field)

    user_id = widget.verified_user_id(survey, answer.user_id, answer.user_hash)
    contact = None
    if answer.edit_token is None:  # an edit changes the response its token names, nothing else
        if widget.answered_recently(survey, widget.find_contact(survey, user_id)):
            return error(409, "already_answered", _("You have already answered this survey."))
        contact = widget.contact_for_answer(survey, user_id)
    try:
        recorded = record_response(
            survey=survey,
            score=answer.score,
            channel=Channel.WIDGET,
            comment=answer.comment,
            contact=contact,
            language=answer.language or "",
            properties=answer.properties,
            edit_token=answer.edit_token,
        )
    except AnswerRejected as exc:
        status = REJECTED_STATUS.get(exc.code, 400)
        return error(status, exc.code, exc.message, exc.field)
    body = {"id": recorded.response.pk, "edit_token": recorded.response.edit_token}
    return JsonResponse(
        body, status=201 if recorded.created else 200, headers={"Cache-Control": "no-store"}
    )
