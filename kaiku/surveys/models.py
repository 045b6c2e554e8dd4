"""Surveys and their texts per language."""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kaiku.accounts.models import SUPPORTED_LANGUAGES, Workspace
from kaiku.lib import plainsql
from kaiku.surveys.texts import Texts, default_texts


class Kind(models.TextChoices):
    NPS = "nps", _("NPS")
    CSAT = "csat", _("CSAT")
    CES = "ces", _("CES")


# (min, max) of the answer scale for each kind; CSAT may also run 1–7 or 1–10.
DEFAULT_SCALES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
ALLOWED_SCALES: dict[str, set[tuple[int, int]]] = {
    "nps": {(0, 10)},
    "csat": {(1, 5), (1, 7), (1, 10)},
    "ces": {(1, 7), (1, 5)},
}


def new_public_id() -> str:
    return secrets.token_urlsafe(9)


# Public-link query parameters that may be stored as answer properties. Names
# are short identifiers so they can never collide with Kaiku's own parameters.
HIDDEN_PROPERTY_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
RESERVED_QUERY_NAMES = frozenset({"score", "lang", "uid", "sig", "edit"})
MAX_HIDDEN_PROPERTIES = 20
MAX_WIDGET_ORIGINS = 20
# A Workspace object's surveys read along with it (SurveyManager.read_with).
PREFETCHED_SURVEYS = "_kaiku_prefetched_surveys"


def validate_hidden_properties(value: Any) -> None:
    if not isinstance(value, list) or len(value) > MAX_HIDDEN_PROPERTIES:
        raise ValidationError(
            _("Hidden properties must be a list of at most %(max)d names."),
            params={"max": MAX_HIDDEN_PROPERTIES},
        )
    for name in value:
        if (
            not isinstance(name, str)
            or not HIDDEN_PROPERTY_NAME.match(name)
            or name in RESERVED_QUERY_NAMES
        ):
            raise ValidationError(
                _("%(name)s is not a valid hidden property name (a-z, 0-9, _)."),
                params={"name": str(name)[:70]},
            )


def validate_origin(origin: Any) -> None:
    """An origin is scheme://host[:port] exactly, as browsers send in `Origin`."""
    parts = urlsplit(origin) if isinstance(origin, str) else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username
        or origin != origin.lower().rstrip("/")
    ):
        raise ValidationError(
            _("%(origin)s is not an origin like https://www.example.com."),
            params={"origin": str(origin)[:100]},
        )


def validate_widget_origins(value: Any) -> None:
    if not isinstance(value, list) or len(value) > MAX_WIDGET_ORIGINS:
        raise ValidationError(
            _("Widget origins must be a list of at most %(max)d origins."),
            params={"max": MAX_WIDGET_ORIGINS},
        )
    for origin in value:
        validate_origin(origin)


class SurveyManager(models.Manager["Survey"]):
    def by_public_id(self, public_id: str) -> Survey | None:
        """The survey of a public link (page, widget) with its workspace; None if unknown.

        The busiest read of the answer path, in plain SQL (kaiku.lib.plainsql):
        compiling it with the ORM cost ten times what running it does.
        """
        return plainsql.get_with_parent(self.model, "workspace", self.db, public_id=public_id)

    def by_public_id_after(
        self, before: plainsql.Before, public_id: str
    ) -> tuple[Survey | None, tuple[Any, ...]]:
        """by_public_id() in one statement with `before` (an answer's rate limits)."""
        return plainsql.get_after(before, self.model, "workspace", self.db, public_id=public_id)

    def read_with(self, workspace: Workspace, pk: int, survey: Survey | None) -> None:
        """Note that `survey` is what in_workspace(workspace, pk) would read now (None:
        no such survey there), found in the statement that read `workspace`; the next
        in_workspace() call on this workspace object answers from it."""
        if survey is not None and survey.workspace_id != workspace.pk:
            raise ValueError("another workspace's survey")
        prefetched = workspace.__dict__.setdefault(PREFETCHED_SURVEYS, {})
        prefetched[pk] = survey

    def in_workspace(self, workspace: Workspace, pk: int) -> Survey | None:
        """The workspace's survey `pk`, or None (another workspace's survey is None too).

        The API's answer path, in plain SQL like by_public_id, unless the statement
        that read the workspace read this survey too (kaiku.api.auth).
        """
        prefetched: dict[int, Survey | None] = getattr(workspace, PREFETCHED_SURVEYS, {})
        if pk in prefetched:
            # Taken, not kept: the survey refers to its workspace, and a workspace
            # still holding it would make a reference cycle per request, left to
            # the garbage collector (tests/test_reference_cycles.py).
            return prefetched.pop(pk)
        survey = plainsql.get(self.model, self.db, pk=pk, workspace_id=workspace.pk)
        if survey is not None:
            survey.workspace = workspace
        return survey


class Survey(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="surveys")
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=4, choices=Kind.choices, default=Kind.NPS)
    scale_min = models.PositiveSmallIntegerField(_("lowest score"), default=0)
    scale_max = models.PositiveSmallIntegerField(_("highest score"), default=10)
    brand_name = models.CharField(
        _("brand name"), max_length=120, blank=True, help_text=_("Defaults to the workspace's.")
    )
    default_language = models.CharField(
        _("default language"),
        max_length=8,
        default="en",
        choices=[(c, c) for c in SUPPORTED_LANGUAGES],
    )
    is_active = models.BooleanField(_("active"), default=True)
    public_id = models.CharField(max_length=16, unique=True, default=new_public_id, editable=False)
    # Query parameters of the public link kept as answer properties (`?plan=pro`);
    # anything else in the query string is ignored so strangers cannot add columns.
    hidden_properties = models.JSONField(
        _("hidden properties"),
        default=list,
        blank=True,
        validators=[validate_hidden_properties],
        help_text=_("Public-link query parameters stored with each answer, e.g. plan."),
    )
    follow_up_enabled = models.BooleanField(
        _("follow up with unhappy respondents"),
        default=False,
        help_text=_("Tells respondents with a low score that the team will be in touch."),
    )
    promoter_cta_text = models.CharField(_("promoter call to action"), max_length=120, blank=True)
    promoter_cta_url = models.URLField(
        _("promoter call to action link"),
        blank=True,
        validators=[URLValidator(schemes=["http", "https"])],
    )
    # Pages allowed to show the web widget (checked against `Origin` for CORS).
    widget_origins = models.JSONField(
        _("widget origins"), default=list, blank=True, validators=[validate_widget_origins]
    )
    # Null: the workspace's window applies (Workspace.recontact_days).
    recontact_days = models.PositiveSmallIntegerField(
        _("recontact window (days)"),
        null=True,
        blank=True,
        help_text=_("Overrides the workspace's window for this survey; empty uses it."),
    )
    # One reminder this many days after the invitation to those who have not
    # answered; null turns reminders off for the survey.
    reminder_days = models.PositiveSmallIntegerField(
        _("reminder after (days)"),
        null=True,
        blank=True,
        default=3,
        help_text=_("Sends one reminder to those who have not answered; empty sends none."),
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = SurveyManager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scale_min__lt=models.F("scale_max"), scale_max__lte=10),
                name="survey_scale_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if (self.scale_min, self.scale_max) not in ALLOWED_SCALES.get(self.kind, set()):
            raise ValidationError(
                _("A %(kind)s survey cannot use the scale %(lo)d–%(hi)d."),
                params={"kind": self.kind, "lo": self.scale_min, "hi": self.scale_max},
            )

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._state.adding and (self.scale_min, self.scale_max) == (0, 10):
            self.scale_min, self.scale_max = DEFAULT_SCALES[self.kind]
        super().save(*args, **kwargs)

    @property
    def display_brand(self) -> str:
        return self.brand_name or self.workspace.display_brand

    @property
    def effective_recontact_days(self) -> int:
        """The survey's own recontact window, else the workspace's."""
        if self.recontact_days is not None:
            return self.recontact_days
        return self.workspace.recontact_days

    @property
    def scale(self) -> range:
        return range(self.scale_min, self.scale_max + 1)

    def texts(self, language: str) -> Texts:
        """Texts in a language: the survey's own where set, else the built-in ones."""
        builtin = default_texts(self.kind, language)
        custom = next((t for t in self.text_set.all() if t.language == language), None)
        values = {
            field: (getattr(custom, field, "") or getattr(builtin, field)).replace(
                "{brand}", self.display_brand
            )
            for field in Texts.__dataclass_fields__
        }
        return Texts(**values)


class SurveyText(models.Model):
    """A survey's own wording in one language; blank fields use the built-in text."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="text_set")
    language = models.CharField(
        _("language"), max_length=8, choices=[(c, c) for c in SUPPORTED_LANGUAGES]
    )
    question = models.CharField(_("question"), max_length=300, blank=True)
    follow_up_detractor = models.CharField(_("follow-up, low score"), max_length=300, blank=True)
    follow_up_passive = models.CharField(_("follow-up, middle score"), max_length=300, blank=True)
    follow_up_promoter = models.CharField(_("follow-up, high score"), max_length=300, blank=True)
    thank_you = models.CharField(_("thank-you text"), max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["survey", "language"], name="surveytext_unique_lang"),
        ]

    def __str__(self) -> str:
        return f"{self.survey} [{self.language}]"


def new_token() -> str:
    """An unguessable per-invitation token (192 bits), safe in URLs."""
    return secrets.token_urlsafe(24)


class InvitationStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    # Claimed by a dispatcher and handed to a worker; back to scheduled if the
    # worker dies (see kaiku.surveys.sending.release_stale_claims).
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    OPENED = "opened", _("Opened")
    RESPONDED = "responded", _("Responded")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")
    CANCELLED = "cancelled", _("Cancelled")


# Invitations that may still be emailed (first send not done yet).
PENDING_STATUSES = (InvitationStatus.SCHEDULED, InvitationStatus.SENDING)
# Invitations a reminder can follow: delivered, not answered.
REMINDABLE_STATUSES = (InvitationStatus.SENT, InvitationStatus.OPENED)


class Wave(models.Model):
    """A recurring send: every `every_days`, the contacts matching a filter.

    `contact_filter` is the parameter dict of kaiku.contacts.filters.filter_contacts;
    a run schedules at most `daily_cap` invitations (the rest wait for the next
    run) and the usual throttling applies, so repeated runs never double-ask.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="waves")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="waves")
    name = models.CharField(_("name"), max_length=120)
    every_days = models.PositiveSmallIntegerField(_("every (days)"), default=90)
    daily_cap = models.PositiveIntegerField(
        _("invitations per day"),
        null=True,
        blank=True,
        help_text=_("The most invitations one run schedules; empty means no limit."),
    )
    contact_filter = models.JSONField(_("contacts"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_run_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Invitation(models.Model):
    """One survey invitation to one contact: scheduled → sent → (opened) → responded.

    The token in the emailed links identifies the invitation; answers through it
    update one response (see Response.invitation), never create a second one.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="invitations"
    )
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    status = models.CharField(
        max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.SCHEDULED
    )
    # Why it failed or was skipped (throttled, unsubscribed, SMTP 550 …).
    status_reason = models.CharField(max_length=300, blank=True)
    language = models.CharField(max_length=8, blank=True)
    # Extra properties from the trigger (e.g. ticket channel); merged into the
    # response's snapshot on top of the contact's own properties.
    properties = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    send_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    # When the one reminder is due (set when the invitation is sent, if the
    # survey has reminders); cleared once the reminder is sent or given up.
    remind_at = models.DateTimeField(null=True, blank=True)
    # Set while a worker holds the invitation (first send or reminder); a claim
    # older than STALE_CLAIM is a dead worker's and is released.
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    wave = models.ForeignKey(
        Wave, on_delete=models.SET_NULL, null=True, blank=True, related_name="invitations"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-send_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="invitation_unique_idempotency_key",
            ),
        ]
        indexes = [
            # The dispatcher job: scheduled invitations whose send time has come.
            models.Index(
                fields=["send_at"],
                condition=models.Q(status="scheduled"),
                name="invitation_due",
            ),
            # The reminder job: invitations whose one reminder is due.
            models.Index(
                fields=["remind_at"],
                condition=models.Q(remind_at__isnull=False),
                name="invitation_remind_due",
            ),
            # The dispatcher's stale-claim sweep: invitations held by a worker.
            models.Index(
                fields=["claimed_at"],
                condition=models.Q(claimed_at__isnull=False),
                name="invitation_claimed",
            ),
            # The rate limit: emails sent by a workspace in the last minute.
            models.Index(fields=["workspace", "sent_at"], name="invitation_ws_sent"),
            models.Index(fields=["workspace", "reminded_at"], name="invitation_ws_reminded"),
            # Throttling: a contact's most recent invitation across all surveys.
            models.Index(fields=["contact", "-sent_at"], name="invitation_contact_sent"),
            # Delivery log per survey.
            models.Index(fields=["survey", "-created_at"], name="invitation_survey_log"),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id} → {self.contact_id} ({self.status})"


class DeliveryKind(models.TextChoices):
    INVITATION = "invitation", _("Invitation")
    REMINDER = "reminder", _("Reminder")


class DeliveryOutcome(models.TextChoices):
    SENT = "sent", _("Sent")
    # Will be retried later (SMTP 4xx, connection refused, timeout).
    RETRY = "retry", _("Will retry")
    FAILED = "failed", _("Failed")


class DeliveryAttempt(models.Model):
    """One attempt to hand an email to the SMTP server, whatever came of it.

    The delivery log shows these; an invitation has one per try (a transient
    error and its retries are several rows).
    """

    invitation = models.ForeignKey(
        Invitation, on_delete=models.CASCADE, related_name="attempts_log"
    )
    kind = models.CharField(max_length=10, choices=DeliveryKind.choices)
    outcome = models.CharField(max_length=10, choices=DeliveryOutcome.choices)
    smtp_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["invitation", "-created_at"], name="attempt_invitation")]

    def __str__(self) -> str:
        return f"{self.invitation_id} {self.kind} {self.outcome}"


class PeriodicRun(models.Model):
    """One run of a periodic job (kaiku.lib.periodic) in one time slot.

    Every worker's scheduler tries to insert (name, slot); the unique
    constraint lets exactly one win, so N workers run each job once per slot.
    It lives here because kaiku.lib holds no models.
    """

    name = models.CharField(max_length=100)
    slot = models.DateTimeField()
    worker = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "slot"], name="periodicrun_unique_slot"),
        ]

    def __str__(self) -> str:
        return f"{self.name} @ {self.slot:%Y-%m-%d %H:%M:%S}"
