"""Respondent pages: email invitation links, public links, kiosks. No login, no cookies.

Each view resolves its link, then hands over to the shared steps in
kaiku.responses.flow; every write goes through record_response().
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext_lazy as _

from kaiku.contacts.actions import upsert_contact
from kaiku.contacts.models import Contact
from kaiku.responses.actions import Recorded, record_response
from kaiku.responses.flow import (
    Link,
    check_window,
    comment_step,
    form_nonce,
    posted_language,
    require,
    score_step,
    thanks_step,
)
from kaiku.responses.identity import verified_uid
from kaiku.responses.models import Channel, KioskDevice, Response
from kaiku.responses.pages import (
    Unavailable,
    closed,
    negotiate_language,
    respondent_view,
    survey_to_answer,
)
from kaiku.surveys.models import Invitation, InvitationStatus, Survey

# A kiosk is shared: the next customer must not reopen the previous answer.
KIOSK_EDIT_WINDOW = timedelta(minutes=10)
MAX_HIDDEN_VALUE = 500

# --- Email invitation: /r/<token>/ ------------------------------------------------------


def _invitation(request: HttpRequest, token: str) -> tuple[Invitation, Link]:
    invitation = require(
        Invitation.objects.select_related("survey__workspace", "contact")
        .filter(token=token)
        .first()
    )
    survey = invitation.survey
    if not survey.is_active or invitation.status == InvitationStatus.CANCELLED:
        raise closed(survey)
    if invitation.contact.unsubscribed_at is not None:
        raise Unavailable(
            410,
            _("You have unsubscribed"),
            _("You will not receive surveys from us any more, and this link no longer works."),
            survey,
        )
    language = negotiate_language(
        request, survey, [invitation.language, invitation.contact.language]
    )
    token_url = reverse("respond:invitation", args=[token])
    link = Link(survey, language, token_url)
    link.extra["thanks_url"] = reverse("respond:invitation_thanks", args=[token])
    existing = Response.objects.filter(invitation=invitation).first()
    if existing is not None:
        check_window(link, existing)
        link.extra["current"] = existing.score
    return invitation, link


def _record_invitation(request: HttpRequest, invitation: Invitation, link: Link) -> Any:
    def record(score: int, comment: str | None) -> Recorded:
        return record_response(
            survey=link.survey,
            score=score,
            comment=comment,
            channel=Channel.EMAIL,
            invitation=invitation,
            language=posted_language(request, link),
        )

    return record


@respondent_view
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    invitation, link = _invitation(request, token)
    comment_url = reverse("respond:invitation_comment", args=[token])
    return score_step(
        request, link, _record_invitation(request, invitation, link), lambda _r: comment_url
    )


@respondent_view
def invitation_comment(request: HttpRequest, token: str) -> HttpResponse:
    invitation, link = _invitation(request, token)
    response = require(Response.objects.filter(invitation=invitation).first())
    record = _record_invitation(request, invitation, link)
    return comment_step(request, link, response, record, link.extra["thanks_url"])


@respondent_view
def invitation_thanks(request: HttpRequest, token: str) -> HttpResponse:
    invitation, link = _invitation(request, token)
    response = require(Response.objects.filter(invitation=invitation).first())
    change_url = reverse("respond:invitation_comment", args=[token])
    return thanks_step(request, link, response, change_url)


# --- Public link: /s/<public_id>/ -----------------------------------------------------------


def _public(request: HttpRequest, public_id: str, answering: bool = False) -> Link:
    if answering and request.method == "POST":
        survey = require(survey_to_answer(request, public_id))
    else:
        survey = require(Survey.objects.by_public_id(public_id))
    if not survey.is_active:
        raise closed(survey)
    # Lazy: only a kiosk's reset link shows the score page's URL, and the busiest
    # request here, an answer, would pay for reversing it for nothing.
    score_url = reverse_lazy("respond:public", args=[public_id])
    return Link(survey, negotiate_language(request, survey), score_url)


def _public_contact(request: HttpRequest, survey: Survey) -> Contact | None:
    """The contact a signed `uid` names; unsigned or badly signed claims are ignored."""
    uid = verified_uid(survey.workspace, request.GET.get("uid"), request.GET.get("sig"))
    return upsert_contact(survey.workspace, external_id=uid) if uid else None


def hidden_properties(request: HttpRequest, survey: Survey) -> dict[str, str]:
    """The whitelisted query parameters (`?plan=pro`); anything else is dropped."""
    return {
        name: request.GET[name][:MAX_HIDDEN_VALUE]
        for name in survey.hidden_properties
        if request.GET.get(name)
    }


@respondent_view
def public(request: HttpRequest, public_id: str) -> HttpResponse:
    link = _public(request, public_id, answering=True)

    def record(score: int, comment: str | None) -> Recorded:
        return _record_new(
            request,
            link,
            score,
            Channel.LINK,
            contact=_public_contact(request, link.survey),
            properties=hidden_properties(request, link.survey),
        )

    return score_step(request, link, record, lambda r: _edit_url("public", public_id, r))


def _record_new(
    request: HttpRequest,
    link: Link,
    score: int,
    channel: str,
    contact: Contact | None = None,
    properties: dict[str, Any] | None = None,
) -> Recorded:
    """A new anonymous (or signed) answer, made idempotent by the form's nonce."""
    language = posted_language(request, link)
    recorded = record_response(
        survey=link.survey,
        score=score,
        channel=channel,
        contact=contact,
        language=language,
        properties=properties,
        idempotency_key=form_nonce(request),
    )
    if not recorded.created and recorded.response.survey_id != link.survey.pk:
        raise closed(link.survey)  # a replayed nonce from another survey's form
    if not recorded.created and recorded.response.score != score:
        # The same form sent again with another score (back button): latest wins.
        recorded = record_response(
            survey=link.survey,
            score=score,
            channel=channel,
            edit_token=recorded.response.edit_token,
            language=language,
        )
    return recorded


def _edit_url(kind: str, key: str, response: Response) -> str:
    return reverse(f"respond:{kind}_comment", args=[key, response.edit_token])


def _editable(link: Link, edit_token: str) -> Response:
    response: Response = require(
        Response.objects.filter(edit_token=edit_token, survey=link.survey).first()
    )
    check_window(link, response)
    return response


def _record_edit(request: HttpRequest, link: Link, channel: str, edit_token: str) -> Any:
    def record(score: int, comment: str | None) -> Recorded:
        return record_response(
            survey=link.survey,
            score=score,
            comment=comment,
            channel=channel,
            edit_token=edit_token,
            language=posted_language(request, link),
        )

    return record


@respondent_view
def public_comment(request: HttpRequest, public_id: str, edit_token: str) -> HttpResponse:
    link = _public(request, public_id, answering=True)
    link.extra["thanks_url"] = reverse("respond:public_thanks", args=[public_id, edit_token])
    response = _editable(link, edit_token)
    if "lang" not in request.GET:
        link.language = negotiate_language(request, link.survey, [response.language])
    record = _record_edit(request, link, Channel.LINK, edit_token)
    return comment_step(request, link, response, record, link.extra["thanks_url"])


@respondent_view
def public_thanks(request: HttpRequest, public_id: str, edit_token: str) -> HttpResponse:
    link = _public(request, public_id)
    response = require(Response.objects.filter(edit_token=edit_token, survey=link.survey).first())
    if "lang" not in request.GET:
        link.language = negotiate_language(request, link.survey, [response.language])
    change_url = reverse("respond:public_comment", args=[public_id, edit_token])
    return thanks_step(request, link, response, change_url)


# --- Kiosk: /k/<key>/ ----------------------------------------------------------------------


def _kiosk(request: HttpRequest, key: str) -> tuple[KioskDevice, Link]:
    device = require(
        KioskDevice.objects.select_related("survey__workspace").filter(key=key).first()
    )
    survey = device.survey
    if not device.is_active or not survey.is_active:
        raise closed(survey)
    link = Link(
        survey,
        negotiate_language(request, survey),
        reverse("respond:kiosk", args=[key]),
        kiosk=True,
        edit_window=KIOSK_EDIT_WINDOW,
    )
    return device, link


@respondent_view
def kiosk(request: HttpRequest, key: str) -> HttpResponse:
    device, link = _kiosk(request, key)
    properties = {"location": device.location} if device.location else None

    def record(score: int, comment: str | None) -> Recorded:
        return _record_new(request, link, score, Channel.KIOSK, properties=properties)

    return score_step(request, link, record, lambda r: _edit_url("kiosk", key, r))


@respondent_view
def kiosk_comment(request: HttpRequest, key: str, edit_token: str) -> HttpResponse:
    _device, link = _kiosk(request, key)
    link.extra["thanks_url"] = reverse("respond:kiosk_thanks", args=[key, edit_token])
    response = _editable(link, edit_token)
    if "lang" not in request.GET:
        link.language = negotiate_language(request, link.survey, [response.language])
    record = _record_edit(request, link, Channel.KIOSK, edit_token)
    return comment_step(request, link, response, record, link.extra["thanks_url"])


@respondent_view
def kiosk_thanks(request: HttpRequest, key: str, edit_token: str) -> HttpResponse:
    _device, link = _kiosk(request, key)
    response = require(Response.objects.filter(edit_token=edit_token, survey=link.survey).first())
    if "lang" not in request.GET:
        link.language = negotiate_language(request, link.survey, [response.language])
    return thanks_step(request, link, response, str(link.score_url))
