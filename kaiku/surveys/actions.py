"""Writes from the survey pages: settings, texts, kiosks, waves and sends.

Every action re-reads the actor's membership inside its transaction (a
demotion a moment ago counts) and refuses with PermissionDenied unless the
actor is an owner or admin. ValidationError carries messages for the form.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kaiku.accounts.models import MANAGER_ROLES, SUPPORTED_LANGUAGES, Membership
from kaiku.contacts.filters import ContactFilter, FilterError, apply_filter, parse_filter
from kaiku.responses.models import KioskDevice
from kaiku.surveys.models import DEFAULT_SCALES, Kind, Survey, SurveyText, Wave
from kaiku.surveys.sending import SendSummary, schedule_invitations
from kaiku.surveys.texts import Texts

# Survey fields the settings tabs may change; anything else is not theirs.
SETTINGS_FIELDS = frozenset(
    {
        "name",
        "is_active",
        "default_language",
        "brand_name",
        "hidden_properties",
        "widget_origins",
        "reminder_days",
        "recontact_days",
        "promoter_cta_text",
        "promoter_cta_url",
        "follow_up_enabled",
    }
)
WAVE_FIELDS = frozenset({"name", "every_days", "daily_cap", "contact_filter", "is_active"})
TEXT_FIELDS = tuple(Texts.__dataclass_fields__)
# A send form's token is remembered this long; a resubmission inside it is refused.
SEND_TOKEN_TTL = timedelta(days=1)
MAX_SPREAD = timedelta(days=31)
MAX_SCHEDULE_AHEAD = timedelta(days=365)


class AlreadySent(Exception):
    """This send form was submitted before (double click, reload, back button)."""


def _check_manager(actor: Membership) -> Membership:
    fresh = Membership.objects.filter(pk=actor.pk, workspace_id=actor.workspace_id).first()
    if fresh is None or fresh.role not in MANAGER_ROLES:
        raise PermissionDenied
    return fresh


def _lock_survey(actor: Membership, survey: Survey) -> Survey:
    locked = (
        Survey.objects.select_for_update()
        .select_related("workspace")
        .filter(pk=survey.pk, workspace_id=actor.workspace_id)
        .first()
    )
    if locked is None:
        raise ValidationError(_("This survey no longer exists."))
    return locked


# --- Surveys ---------------------------------------------------------------------------


def create_survey(actor: Membership, *, name: str, kind: str, default_language: str) -> Survey:
    """A new survey with its kind's default scale; texts start as the built-in ones."""
    if kind not in Kind.values:
        raise ValidationError({"kind": [_("Choose NPS, CSAT or CES.")]})
    if default_language not in SUPPORTED_LANGUAGES:
        raise ValidationError({"default_language": [_("Choose one of the listed languages.")]})
    with transaction.atomic(durable=True):
        _check_manager(actor)
        low, high = DEFAULT_SCALES[kind]
        survey = Survey(
            workspace_id=actor.workspace_id,
            name=name.strip(),
            kind=kind,
            scale_min=low,
            scale_max=high,
            default_language=default_language,
        )
        survey.full_clean(exclude=["workspace"])
        survey.save()
    return survey


def update_survey_settings(actor: Membership, survey: Survey, **values: Any) -> Survey:
    """Change some of SETTINGS_FIELDS; the model's validators decide what is valid."""
    unknown = set(values) - SETTINGS_FIELDS
    if unknown:
        raise ValueError(f"not settings fields: {sorted(unknown)}")
    with transaction.atomic(durable=True):
        _check_manager(actor)
        locked = _lock_survey(actor, survey)
        for name, value in values.items():
            setattr(locked, name, value)
        locked.full_clean(exclude=[f.name for f in Survey._meta.fields if f.name not in values])
        locked.save(update_fields=list(values))
    return locked


def save_survey_texts(
    actor: Membership, survey: Survey, language: str, values: Mapping[str, str]
) -> SurveyText | None:
    """The survey's own wording in one language; all blank goes back to the built-in texts."""
    if language not in SUPPORTED_LANGUAGES:
        raise ValidationError(_("Choose one of the listed languages."))
    cleaned = {name: (values.get(name) or "").strip() for name in TEXT_FIELDS}
    with transaction.atomic(durable=True):
        _check_manager(actor)
        locked = _lock_survey(actor, survey)
        if not any(cleaned.values()):
            SurveyText.objects.filter(survey=locked, language=language).delete()
            return None
        text = SurveyText.objects.filter(survey=locked, language=language).first()
        text = text or SurveyText(survey=locked, language=language)
        for name, value in cleaned.items():
            setattr(text, name, value)
        text.full_clean(exclude=["survey"], validate_unique=False)
        text.save()
    return text


# --- Kiosks ----------------------------------------------------------------------------


def create_kiosk_device(
    actor: Membership, survey: Survey, *, name: str, location: str = ""
) -> KioskDevice:
    with transaction.atomic(durable=True):
        _check_manager(actor)
        locked = _lock_survey(actor, survey)
        device = KioskDevice(
            workspace_id=actor.workspace_id,
            survey=locked,
            name=name.strip(),
            location=location.strip(),
        )
        device.full_clean(exclude=["workspace", "survey"])
        device.save()
    return device


def deactivate_kiosk_device(actor: Membership, device: KioskDevice) -> None:
    """The tablet's page says the survey is closed from its next request. Idempotent."""
    with transaction.atomic(durable=True):
        _check_manager(actor)
        KioskDevice.objects.filter(pk=device.pk, workspace_id=actor.workspace_id).update(
            is_active=False
        )


# --- Waves -----------------------------------------------------------------------------


def _wave_values(actor: Membership, values: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(values) - WAVE_FIELDS
    if unknown:
        raise ValueError(f"not wave fields: {sorted(unknown)}")
    cleaned = dict(values)
    if "contact_filter" in cleaned:
        try:
            parsed = parse_filter(cleaned["contact_filter"])
            apply_filter(actor.workspace, parsed)  # checks the survey belongs here
        except FilterError as exc:
            raise ValidationError({"contact_filter": exc.messages}) from None
        cleaned["contact_filter"] = parsed.to_dict()
    return cleaned


def create_wave(actor: Membership, survey: Survey, **values: Any) -> Wave:
    cleaned = _wave_values(actor, values)
    with transaction.atomic(durable=True):
        _check_manager(actor)
        locked = _lock_survey(actor, survey)
        wave = Wave(workspace_id=actor.workspace_id, survey=locked, **cleaned)
        wave.full_clean(exclude=["workspace", "survey"])
        wave.save()
    return wave


def update_wave(actor: Membership, wave: Wave, **values: Any) -> Wave:
    """Change a wave; pausing is `is_active=False`. The next run uses the new values."""
    cleaned = _wave_values(actor, values)
    with transaction.atomic(durable=True):
        _check_manager(actor)
        locked = (
            Wave.objects.select_for_update()
            .filter(pk=wave.pk, workspace_id=actor.workspace_id)
            .first()
        )
        if locked is None:
            raise ValidationError(_("This wave no longer exists."))
        for name, value in cleaned.items():
            setattr(locked, name, value)
        locked.full_clean(exclude=["workspace", "survey"])
        locked.save(update_fields=list(cleaned))
    return locked


# --- Sending -----------------------------------------------------------------------------


def check_send_times(
    send_at: datetime | None, spread_until: datetime | None, now: datetime | None = None
) -> None:
    """Refuse times in the past, too far ahead, or a window that ends before it starts."""
    now = now or timezone.now()
    start = send_at or now
    if send_at is not None and send_at < now - timedelta(minutes=5):
        raise ValidationError({"send_at": [_("Choose a time in the future.")]})
    if start > now + MAX_SCHEDULE_AHEAD:
        raise ValidationError({"send_at": [_("Choose a time within a year.")]})
    if spread_until is not None:
        if spread_until <= start:
            raise ValidationError({"spread_until": [_("The window must end after it starts.")]})
        if spread_until - start > MAX_SPREAD:
            raise ValidationError({"spread_until": [_("Spread the sending over 31 days at most.")]})


def send_survey(
    actor: Membership,
    survey: Survey,
    contact_filter: ContactFilter,
    *,
    form_token: str,
    send_at: datetime | None = None,
    spread_until: datetime | None = None,
) -> SendSummary:
    """Schedule the survey to the filtered contacts, once per send form.

    The form's token is claimed with an atomic cache `add` (a unique insert on
    the database cache, SET NX on Redis): a double click or a reload of the
    POST finds it taken and raises AlreadySent instead of sending twice.
    Throttling would skip the contacts anyway; the token also keeps the
    summary the user sees honest.
    """
    check_send_times(send_at, spread_until)
    fresh = _check_manager(actor)
    contacts = apply_filter(actor.workspace, contact_filter)
    if not form_token or not cache.add(
        f"kaiku:send-form:{form_token}", survey.pk, int(SEND_TOKEN_TTL.total_seconds())
    ):
        raise AlreadySent
    return schedule_invitations(
        survey, contacts, send_at=send_at, spread_until=spread_until, actor=fresh
    )
