"""The respondent flow shared by every link: score → follow-up → thank-you.

Each channel (email invitation, public link, kiosk) resolves its link to a
`Link` and says how to record; the steps here do the rest. A GET never
records anything: mail scanners and link previews fetch every URL they see.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from kaiku.responses.actions import EDIT_WINDOW, AnswerRejected, Recorded
from kaiku.responses.models import Response
from kaiku.responses.pages import (
    SCALE_ENDS,
    Unavailable,
    closed,
    follow_up_question,
    limit_survey,
    not_found,
    render_page,
    scale_choices,
    score_group,
    with_lang,
)
from kaiku.surveys.models import Survey

_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass
class Link:
    """A resolved respondent link."""

    survey: Survey
    language: str
    score_url: StrOrPromise
    kiosk: bool = False
    # How long the follow-up page accepts changes (the kiosk is shared, so short).
    edit_window: timedelta = EDIT_WINDOW
    extra: dict[str, Any] = field(default_factory=dict)


Record = Callable[[int, str | None], Recorded]


def parse_score(raw: str | None) -> int | None:
    """A form's score: ASCII digits only ("٣" and "1e1" are not scores)."""
    if raw is None or not re.fullmatch(r"[0-9]{1,2}", raw):
        return None
    return int(raw)


def form_nonce(request: HttpRequest) -> str | None:
    """The per-render nonce that makes a double-submitted form one answer."""
    nonce = request.POST.get("nonce", "")
    return f"form:{nonce}" if _NONCE.match(nonce) else None


def posted_language(request: HttpRequest, link: Link) -> str:
    """The language the page was shown in (a hidden field), else the negotiated one."""
    posted = request.POST.get("lang", "")
    offered = link.survey.workspace.languages or []
    return posted if posted in offered else link.language


def check_window(link: Link, response: Response) -> None:
    if timezone.now() - response.created_at > link.edit_window:
        raise closed(link.survey)


def raise_for(link: Link, exc: AnswerRejected) -> None:
    """Turn a refusal that is about the link, not the input, into its page."""
    if exc.code in ("closed", "inactive"):
        raise closed(link.survey) from None
    if exc.code == "unknown":
        raise not_found() from None


# --- Steps --------------------------------------------------------------------------


def score_step(
    request: HttpRequest, link: Link, record: Record, next_url: Callable[[Response], str]
) -> HttpResponse:
    """The first page: the question and the score buttons."""
    if request.method != "POST":
        selected = parse_score(request.GET.get("score"))
        selected = selected if selected in link.survey.scale else link.extra.get("current")
        # An emailed ?score= preselects; the script then POSTs it (a GET never records).
        autosubmit = "score" in request.GET and selected is not None
        return _score_page(request, link, selected, autosubmit=autosubmit)
    limit_survey(request, link.survey)
    score = parse_score(request.POST.get("score"))
    try:
        if score is None:
            raise AnswerRejected("score", _("Please choose a score."))
        recorded = record(score, None)
    except AnswerRejected as exc:
        raise_for(link, exc)
        return _score_page(request, link, score, error=exc.message, status=400)
    return HttpResponseRedirect(next_url(recorded.response), status=303)


def _score_page(
    request: HttpRequest,
    link: Link,
    selected: int | None,
    *,
    autosubmit: bool = False,
    error: Any = None,
    status: int = 200,
) -> HttpResponse:
    survey = link.survey
    low, high = SCALE_ENDS.get(survey.kind, ("", ""))
    context = {
        "question": survey.texts(link.language).question,
        "scale": scale_choices(survey),
        "low": low,
        "high": high,
        "selected": selected,
        "autosubmit": autosubmit,
        "nonce": secrets.token_urlsafe(16),
        "action": request.get_full_path(),
        "error": error,
        "kiosk": link.kiosk,
    }
    return render_page(request, "respond/score.html", survey, link.language, context, status)


def comment_step(
    request: HttpRequest,
    link: Link,
    response: Response,
    record: Record,
    thanks_url: str,
) -> HttpResponse:
    """The follow-up page: a question that depends on the score, and a comment box.

    The score can be changed here too; posting both updates the one answer.
    """
    check_window(link, response)
    if request.method != "POST":
        return _comment_page(request, link, response.score, response.comment)
    limit_survey(request, link.survey)
    score = parse_score(request.POST.get("score"))
    comment = request.POST.get("comment", "")
    try:
        if score is None:
            raise AnswerRejected("score", _("Please choose a score."))
        record(score, comment)
    except AnswerRejected as exc:
        raise_for(link, exc)
        shown = score if score is not None else response.score
        return _comment_page(request, link, shown, comment, error=exc, status=400)
    return HttpResponseRedirect(with_lang(thanks_url, request), status=303)


def _comment_page(
    request: HttpRequest,
    link: Link,
    score: int,
    comment: str,
    *,
    error: AnswerRejected | None = None,
    status: int = 200,
) -> HttpResponse:
    survey = link.survey
    low, high = SCALE_ENDS.get(survey.kind, ("", ""))
    context = {
        "follow_up": follow_up_question(survey, link.language, score),
        "scale": scale_choices(survey),
        "low": low,
        "high": high,
        "selected": score,
        "comment": comment,
        "action": request.get_full_path(),
        "skip_url": with_lang(link.extra["thanks_url"], request),
        "error": error.message if error is not None else None,
        "error_field": error.field if error is not None else None,
        "kiosk": link.kiosk,
        "reset_url": link.score_url if link.kiosk else None,
    }
    return render_page(request, "respond/follow_up.html", survey, link.language, context, status)


def thanks_step(
    request: HttpRequest, link: Link, response: Response, change_url: str
) -> HttpResponse:
    """The last page: thanks, the promoter call to action or the "we'll be in touch" note."""
    survey = link.survey
    group = score_group(survey, response.score)
    context = {
        "thank_you": survey.texts(link.language).thank_you,
        "response": response,
        "in_touch": group == "low" and survey.follow_up_enabled,
        "cta_text": survey.promoter_cta_text if group == "high" else "",
        "cta_url": survey.promoter_cta_url if group == "high" else "",
        "change_url": with_lang(change_url, request),
        "can_change": timezone.now() - response.created_at <= link.edit_window,
        "kiosk": link.kiosk,
        "reset_url": link.score_url if link.kiosk else None,
    }
    return render_page(request, "respond/thanks.html", survey, link.language, context)


def require(found: Any) -> Any:
    if found is None:
        raise not_found()
    return found


__all__ = ["Link", "Unavailable", "comment_step", "score_step", "thanks_step"]
