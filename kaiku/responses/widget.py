"""The web widget's rules: origins, identity, eligibility and the card's texts.

The views in widget_views.py only parse, call these and respond. See docs/widget.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from kaiku.contacts.actions import MAX_EXTERNAL_ID, upsert_contact
from kaiku.contacts.models import Contact
from kaiku.responses.identity import verified_uid
from kaiku.responses.models import Response
from kaiku.responses.pages import SCALE_ENDS, palette, score_group
from kaiku.surveys.models import Invitation, Survey

# Until the throttling issue adds `recontact_days` to Workspace/Survey, a verified
# user who answered or was invited within this many days is not asked again.
DEFAULT_RECONTACT_DAYS = 30
# A prompt the visitor closed stays away this long (remembered in their browser).
DEFAULT_DISMISS_DAYS = 14
# A SHA-256 HMAC is 64 hex digits; anything longer is not worth hashing.
MAX_USER_HASH = 128


# --- Origins ------------------------------------------------------------------------


def normalise_origin(value: str) -> str | None:
    """`https://App.Example.com:443/` → `https://app.example.com`; None if not an origin.

    Browsers send `Origin` without a default port and lower-cased, but people type
    configured origins by hand, so both sides go through this before comparing.
    """
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.username or parts.password or parts.path not in ("", "/") or parts.query:
        return None
    default_port = 443 if parts.scheme == "https" else 80
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    suffix = f":{port}" if port is not None and port != default_port else ""
    return f"{parts.scheme}://{host}{suffix}"


def origin_allowed(survey: Survey, origin: str | None) -> bool:
    """Whether a browser page on `origin` may use the survey's widget.

    A missing or "null" origin (sandboxed frames, file://) is refused: the widget
    only ever runs on a customer's page, cross-origin, where browsers always send one.
    """
    wanted = normalise_origin(origin or "")
    if wanted is None:
        return False
    configured = survey.widget_origins if isinstance(survey.widget_origins, list) else []
    return any(normalise_origin(str(item)) == wanted for item in configured)


# --- Identity -----------------------------------------------------------------------


def verified_user_id(survey: Survey, user_id: str | None, given_hash: str | None) -> str | None:
    """The user id if its hash was made with this survey's workspace secret, else None.

    The same HMAC as signed public links (kaiku.responses.identity). Anything
    else - no hash, a wrong one, one made with another workspace's secret -
    makes the visitor anonymous: never the user they claim to be.
    """
    verified = verified_uid(survey.workspace, user_id, (given_hash or "").strip())
    # Contacts store external ids stripped (upsert_contact), so look them up that way.
    return (verified or "").strip() or None


def find_contact(survey: Survey, user_id: str | None) -> Contact | None:
    """The workspace's contact for a verified user id, without creating one (GET is safe)."""
    if user_id is None:
        return None
    return Contact.objects.filter(workspace_id=survey.workspace_id, external_id=user_id).first()


def contact_for_answer(survey: Survey, user_id: str | None) -> Contact | None:
    """Upsert the verified user as a contact (external_id = user id); None if anonymous.

    Properties from the page stay on the response only: they are not covered by
    the hash, so a visitor could edit them, and they must not overwrite the CRM's.
    """
    if user_id is None:
        return None
    return upsert_contact(survey.workspace, external_id=user_id)


# --- Eligibility --------------------------------------------------------------------


def recontact_days(survey: Survey) -> int:
    """Days before a verified user is asked again.

    The throttling issue will add `recontact_days` to Survey and Workspace; read
    them when they exist so this module needs no change then.
    """
    for owner in (survey, survey.workspace):
        value = getattr(owner, "recontact_days", None)
        if isinstance(value, int) and value >= 0:
            return value
    return DEFAULT_RECONTACT_DAYS


def dismiss_days(survey: Survey) -> int:
    value = getattr(survey, "widget_dismiss_days", None)
    return value if isinstance(value, int) and value >= 0 else DEFAULT_DISMISS_DAYS


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    # ok · inactive · unsubscribed · answered_recently · surveyed_recently · invited_recently
    reason: str


def check_eligibility(
    survey: Survey, contact: Contact | None, now: datetime | None = None
) -> Eligibility:
    """Whether to show the prompt. Anonymous visitors are throttled by their browser only."""
    if not survey.is_active:
        return Eligibility(False, "inactive")
    if contact is None:
        return Eligibility(True, "ok")
    if contact.unsubscribed_at is not None:
        return Eligibility(False, "unsubscribed")
    since = (now or timezone.now()) - timedelta(days=recontact_days(survey))
    # Both use the (contact, time) indexes; a contact has few rows in the window.
    recent = Response.objects.filter(contact=contact, created_at__gte=since)
    if recent.filter(survey=survey).exists():
        return Eligibility(False, "answered_recently")
    if recent.exists():
        return Eligibility(False, "surveyed_recently")
    if Invitation.objects.filter(contact=contact, sent_at__gte=since).exists():
        return Eligibility(False, "invited_recently")
    return Eligibility(True, "ok")


def answered_recently(survey: Survey, contact: Contact | None) -> bool:
    """A verified user's second new answer to the survey within the window is refused."""
    if contact is None:
        return False
    since = timezone.now() - timedelta(days=recontact_days(survey))
    return Response.objects.filter(contact=contact, survey=survey, created_at__gte=since).exists()


# --- The card -----------------------------------------------------------------------


def card(survey: Survey, language: str) -> dict[str, Any]:
    """Everything the script shows, in one language, worded and grouped as on the
    respondent pages. Plain text: the script sets it with textContent, never as HTML."""
    texts = survey.texts(language)
    colours = palette(survey.workspace.brand_color)
    follow_ups = {
        "low": texts.follow_up_detractor,
        "middle": texts.follow_up_passive,
        "high": texts.follow_up_promoter,
    }
    with translation.override(language):
        low, high = (str(end) for end in SCALE_ENDS[survey.kind])
        score_labels = []
        for score in survey.scale:
            label = _("%(score)d on a scale of %(min)d to %(max)d") % {
                "score": score,
                "min": survey.scale_min,
                "max": survey.scale_max,
            }
            end = low if score == survey.scale_min else high if score == survey.scale_max else ""
            score_labels.append(f"{label}, {end}" if end else label)
        ui = {
            "dialog": _("Feedback"),
            "close": _("Close"),
            "send": _("Send"),
            "error": _("Sorry, your answer could not be sent. Please try again."),
        }
    return {
        "kind": survey.kind,
        "scale_min": survey.scale_min,
        "scale_max": survey.scale_max,
        "question": texts.question,
        "follow_up_by_group": follow_ups,
        # One text per score, so the script need not know the grouping rules.
        "follow_up": [follow_ups[score_group(survey, score)] for score in survey.scale],
        "thank_you": texts.thank_you,
        # Brand fill and a text colour that reads on it at 4.5:1 (WCAG AA).
        "brand_color": colours.brand,
        "text_color": colours.on_brand,
        "labels": {"low": low, "high": high},
        "score_labels": score_labels,
        "ui": ui,
    }


def eligibility_payload(
    survey: Survey, user_id: str | None, given_hash: str | None, language: str
) -> dict[str, Any]:
    verified = verified_user_id(survey, user_id, given_hash)
    result = check_eligibility(survey, find_contact(survey, verified))
    return {
        "eligible": result.eligible,
        "reason": result.reason,
        # Lets the script warn the developer whose hash does not verify.
        "identified": verified is not None,
        "language": language,
        "dismiss_days": dismiss_days(survey),
        "recontact_days": recontact_days(survey),
        "survey": card(survey, language) if result.eligible else None,
    }


# --- Input --------------------------------------------------------------------------


class AnswerIn(BaseModel):
    """The POST body. Types only; the recording action checks the values."""

    model_config = ConfigDict(extra="ignore")

    score: StrictInt
    comment: str | None = None
    user_id: str | None = Field(default=None, max_length=MAX_EXTERNAL_ID)
    user_hash: str | None = Field(default=None, max_length=MAX_USER_HASH)
    properties: dict[str, Any] | None = None
    language: str | None = Field(default=None, max_length=16)
    edit_token: str | None = Field(default=None, max_length=200)
