"""What the respondent pages share: language, branding, scale labels, headers, errors.

Views stay thin: they resolve the link, call record_response(), and hand a
context to `render_page`, which renders in the respondent's language and adds
the headers every public page needs.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any, Literal
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation.trans_real import parse_accept_lang_header
from django.views.decorators.csrf import csrf_exempt
from django_stubs_ext import StrOrPromise

from kaiku.accounts.models import SUPPORTED_LANGUAGES, Workspace
from kaiku.lib import plainsql, ratelimit
from kaiku.lib.ratelimit import Condition, Limit, client_ip, hit_in_turn
from kaiku.surveys.models import Kind, Survey

# Endonyms: a respondent looks for their language's own name.
LANGUAGE_NAMES = {"en": "English", "fi": "Suomi", "et": "Eesti"}
DEFAULT_BRAND = "#2454d6"
PAGE_BACKGROUND = "#f6f7f9"  # respond.css body background: brand-coloured text sits on it
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")

Group = Literal["low", "middle", "high"]

SCALE_ENDS: dict[str, tuple[StrOrPromise, StrOrPromise]] = {
    Kind.NPS: (_("Not at all likely"), _("Extremely likely")),
    Kind.CSAT: (_("Very dissatisfied"), _("Very satisfied")),
    Kind.CES: (_("Strongly disagree"), _("Strongly agree")),
}


class Unavailable(Exception):
    """The link cannot be answered; render a plain page with this status."""

    def __init__(
        self,
        status: int,
        title: StrOrPromise,
        text: StrOrPromise = "",
        survey: Survey | None = None,
        retry_after: int = 0,
    ) -> None:
        super().__init__(str(title))
        self.status, self.title, self.text = status, title, text
        self.survey, self.retry_after = survey, retry_after


def not_found() -> Unavailable:
    # One text for every unknown token: the page must not tell which part was wrong.
    return Unavailable(
        404, _("This link is not valid"), _("Please check that you copied the whole link.")
    )


def closed(survey: Survey) -> Unavailable:
    return Unavailable(
        410,
        _("This survey is closed"),
        _("Thank you for your interest. Answers are no longer accepted through this link."),
        survey,
    )


# --- Score groups -------------------------------------------------------------------


def score_group(survey: Survey, score: int) -> Group:
    """Which follow-up question a score gets.

    NPS: detractors 0-6, passives 7-8, promoters 9-10. CSAT: high is the
    "satisfied" top-2 box (4-5 on 1-5), low is below the midpoint (1-2).
    CES: high is "agree" (5-7 on 1-7), low below the midpoint (1-3).
    The midpoint itself (CSAT 3, CES 4) and the rest are middle.
    """
    if survey.kind == Kind.NPS:
        return "low" if score <= 6 else "middle" if score <= 8 else "high"
    middle = (survey.scale_min + survey.scale_max) / 2
    high = score >= survey.scale_max - 1 if survey.kind == Kind.CSAT else score > middle
    if high:
        return "high"
    return "low" if score < middle else "middle"


def follow_up_question(survey: Survey, language: str, score: int) -> str:
    texts = survey.texts(language)
    return {
        "low": texts.follow_up_detractor,
        "middle": texts.follow_up_passive,
        "high": texts.follow_up_promoter,
    }[score_group(survey, score)]


def scale_choices(survey: Survey) -> list[dict[str, Any]]:
    """The score buttons, with the labelled ends attached to the first and last."""
    low, high = SCALE_ENDS.get(survey.kind, ("", ""))
    return [
        {
            "value": n,
            "end": low if n == survey.scale_min else high if n == survey.scale_max else "",
        }
        for n in survey.scale
    ]


# --- Language -----------------------------------------------------------------------


def workspace_languages(workspace: Workspace) -> list[str]:
    return [code for code in (workspace.languages or SUPPORTED_LANGUAGES) if code in LANGUAGE_NAMES]


def negotiate_language(
    request: HttpRequest, survey: Survey, preferred: Iterable[str | None] = ()
) -> str:
    """`?lang=`, else the respondent's known language, else Accept-Language, else the default.

    Only the workspace's languages qualify, so a respondent never sees a page
    the team cannot read the answers of.
    """
    offered = workspace_languages(survey.workspace)
    candidates = [request.GET.get("lang"), *preferred, *_accept_language(request)]
    for candidate in candidates:
        code = (candidate or "").lower().split("-")[0]
        if code in offered:
            return code
    return survey.default_language if survey.default_language in offered else offered[0]


def _accept_language(request: HttpRequest) -> list[str]:
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")[:500]
    return [code for code, _q in parse_accept_lang_header(header) if code != "*"]


def language_links(request: HttpRequest, survey: Survey, current: str) -> list[dict[str, Any]]:
    """`?lang=` links for the switcher, keeping the rest of the query string."""
    links = []
    for code in workspace_languages(survey.workspace):
        query = request.GET.copy()
        query["lang"] = code
        links.append(
            {
                "code": code,
                "name": LANGUAGE_NAMES[code],
                "url": f"?{query.urlencode()}",
                "current": code == current,
            }
        )
    return links if len(links) > 1 else []


def with_lang(url: str, request: HttpRequest) -> str:
    """Carry an explicit `?lang=` choice to the next page."""
    lang = request.GET.get("lang")
    return f"{url}?{urlencode({'lang': lang})}" if lang in LANGUAGE_NAMES else url


# --- Branding -----------------------------------------------------------------------


@dataclass(frozen=True)
class Palette:
    brand: str  # accents (selected score, buttons)
    on_brand: str  # text on a brand-filled background
    ink: str  # brand-coloured text and focus rings on white


def _luminance(colour: str) -> float:
    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio between two #rrggbb colours."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _darken(colour: str, step: float = 0.1) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#{:02x}{:02x}{:02x}".format(*(round(c * (1 - step)) for c in (r, g, b)))


def palette(colour: str) -> Palette:
    """Brand colours that keep WCAG AA (4.5:1) whatever colour the team picked."""
    colour = colour.lower() if _HEX_COLOUR.match(colour or "") else DEFAULT_BRAND
    ink = colour
    while contrast(ink, PAGE_BACKGROUND) < 4.5:
        ink = _darken(ink)
    best_text = max(("#ffffff", "#111111"), key=lambda text: contrast(colour, text))
    if contrast(colour, best_text) < 4.5:
        # A mid-tone brand reads with neither white nor black text: fill with
        # the darkened ink instead, which white text always clears.
        return Palette(brand=ink, on_brand="#ffffff", ink=ink)
    return Palette(brand=colour, on_brand=best_text, ink=ink)


def brand_style(survey: Survey) -> tuple[str, str]:
    """The inline `<style>` with the brand colours and its CSP hash.

    The hash lets a strict Content-Security-Policy allow exactly this style
    block and nothing else inline.
    """
    colours = palette(survey.workspace.brand_color)
    css = f":root{{--brand:{colours.brand};--on-brand:{colours.on_brand};--ink:{colours.ink}}}"
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return css, f"'sha256-{digest}'"


# --- Rendering ----------------------------------------------------------------------


def render_page(
    request: HttpRequest,
    template: str,
    survey: Survey | None,
    language: str,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    css, css_hash = brand_style(survey) if survey is not None else ("", "")
    base = {
        "lang": language,
        "brand": survey.display_brand if survey is not None else "",
        "brand_css": mark_safe(css),  # noqa: S308 — built from validated #rrggbb values only
        "languages": language_links(request, survey, language) if survey is not None else [],
    }
    with translation.override(language):
        response = render(request, template, {**base, **context}, status=status)
    _secure(response, language, css_hash)
    return response


def _secure(response: HttpResponse, language: str, css_hash: str) -> None:
    response["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self'; "
        # connect-src: respond.js posts the answer with fetch to retry a 503.
        f"style-src 'self' {css_hash}; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
    # Pages carry tokens and the respondent's own words: never cache or index
    # them, and never leak their URL to the promoter call-to-action's site.
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Content-Language"] = language
    patch_vary_headers(response, ["Accept-Language"])


def render_unavailable(request: HttpRequest, problem: Unavailable) -> HttpResponse:
    survey = problem.survey
    language = (
        negotiate_language(request, survey) if survey is not None else _fallback_language(request)
    )
    response = render_page(
        request,
        "respond/message.html",
        survey,
        language,
        {"title": problem.title, "text": problem.text},
        status=problem.status,
    )
    if problem.retry_after:
        response["Retry-After"] = str(problem.retry_after)
    return response


def _fallback_language(request: HttpRequest) -> str:
    for code in [request.GET.get("lang"), *_accept_language(request)]:
        primary = (code or "").lower().split("-")[0]
        if primary in LANGUAGE_NAMES:
            return primary
    return settings.LANGUAGE_CODE


# --- Rate limits --------------------------------------------------------------------


def too_many_requests(retry_after: int, survey: Survey | None = None) -> Unavailable:
    return Unavailable(
        429,
        _("Too many requests"),
        _("Please wait a moment and try again."),
        survey,
        retry_after=retry_after,
    )


# Set on a POST's request until its client has been counted (see respondent_view).
_CLIENT_UNCOUNTED = "_kaiku_client_uncounted"
# Set when survey_to_answer() counted the survey's limit with its read.
_SURVEY_COUNTED = "_kaiku_survey_counted"


def limit_survey(request: HttpRequest, survey: Survey) -> None:
    """Answers per minute per survey, all clients together (a flood guard), and the
    client's own limit if not counted yet: one round trip for both, none if
    survey_to_answer() counted them with the survey's read."""
    if getattr(request, _SURVEY_COUNTED, False):
        return
    limits = [_client_limit(request)] if _take_uncounted(request) else []
    limits.append(_survey_limit(survey.public_id))
    wait = hit_in_turn(*limits)
    if wait:
        raise too_many_requests(wait, survey)


def survey_to_answer(request: HttpRequest, public_id: str) -> Survey | None:
    """The public link's survey for a POST that answers it (the view then calls
    limit_survey()). Where the rate limits can be counted in the same statement as
    the read (PostgreSQL), they are: one round trip less on every answer.

    The client is counted either way; the survey only if it exists and is active,
    so unknown or closed links write no survey counters (as when limit_survey()
    never runs for them). Over a limit raises the 429 limit_survey() would.
    """
    if not (_is_uncounted(request) and ratelimit.counts_in_statements()):
        return Survey.objects.by_public_id(public_id)
    active = plainsql.exists_sql(Survey, ("public_id", "is_active"))
    survey_limit = _survey_limit(public_id, Condition(active, (public_id, True)))
    counting = ratelimit.counting(_client_limit(request), survey_limit)
    if counting is None:  # both limits switched off
        return Survey.objects.by_public_id(public_id)
    survey, counts = Survey.objects.by_public_id_after(counting.before, public_id)
    _take_uncounted(request)
    setattr(request, _SURVEY_COUNTED, True)
    wait = counting.wait(counts)
    if wait:
        raise too_many_requests(wait, survey)
    return survey


def _survey_limit(public_id: str, only_if: Condition | None = None) -> Limit:
    # Keyed by the public id, which every survey has: every channel counts in
    # the same counter, and survey_to_answer() knows the key before its read.
    return Limit("respond-survey", public_id, settings.RATE_LIMIT_SURVEY_PER_MINUTE, only_if)


def _client_limit(request: HttpRequest) -> Limit:
    return Limit("respond-ip", client_ip(request), settings.RATE_LIMIT_IP_PER_MINUTE)


def _is_uncounted(request: HttpRequest) -> bool:
    return bool(getattr(request, _CLIENT_UNCOUNTED, False))


def _take_uncounted(request: HttpRequest) -> bool:
    uncounted = _is_uncounted(request)
    setattr(request, _CLIENT_UNCOUNTED, False)
    return uncounted


def _limit_client(request: HttpRequest) -> None:
    if _take_uncounted(request):
        wait = hit_in_turn(_client_limit(request))
        if wait:
            raise too_many_requests(wait)


ViewFunc = Callable[..., HttpResponse]


def respondent_view(view: ViewFunc) -> ViewFunc:
    """A public respondent page: GET/POST only, per-IP limit, plain error pages.

    Every request counts once against its client's limit: a GET before the view;
    a POST when the view calls limit_survey() after finding its survey, in the
    same round trip as the survey's limit (or survey_to_answer() with the read
    itself), or after the view if it never did (an unknown link, a closed survey).
    A client over its limit gets a 429 either way, and a POST only writes after
    limit_survey().

    csrf_exempt on purpose: Django's CSRF check rides on a session or CSRF
    cookie, and these pages set none. What a cross-site form could abuse is an
    ambient credential, and there is none here: writes are authorised by the
    unguessable token in the URL (invitation token, edit token, kiosk key),
    which a third-party site does not know, and the public link is open to
    anyone by design (an identity claim there needs a valid HMAC signature).
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD", "POST"):
            response = HttpResponse(status=405)
            response["Allow"] = "GET, HEAD, POST"
            return response
        setattr(request, _CLIENT_UNCOUNTED, True)
        try:
            if request.method != "POST":
                _limit_client(request)
            try:
                response = view(request, *args, **kwargs)
            except (Http404, Unavailable):
                _limit_client(request)  # a failed lookup counts too
                raise
            _limit_client(request)
            return response
        except Http404:
            return render_unavailable(request, not_found())
        except Unavailable as problem:
            return render_unavailable(request, problem)

    return csrf_exempt(wrapper)
