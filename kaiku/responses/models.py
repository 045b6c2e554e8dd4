"""Answers: one row per respondent answer, whatever the channel."""

from __future__ import annotations

import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kaiku.accounts.models import Workspace
from kaiku.contacts.models import Contact
from kaiku.lib import plainsql
from kaiku.surveys.models import Survey

MAX_COMMENT_LENGTH = 5000


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    LINK = "link", _("Public link")
    WIDGET = "widget", _("Web widget")
    KIOSK = "kiosk", _("Kiosk")
    API = "api", _("API")
    IMPORT = "import", _("Import")


class Response(models.Model):
    # No index of their own on these three: the composite indexes in Meta lead with
    # each (and serve the deletes' lookups too); every index is one more write per answer.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="responses", db_index=False
    )
    survey = models.ForeignKey(
        Survey, on_delete=models.CASCADE, related_name="responses", db_index=False
    )
    # Anonymous answers (public link, kiosk, unverified widget users) have no contact;
    # a GDPR erase also detaches the contact but keeps the score.
    contact = models.ForeignKey(
        Contact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="responses",
        db_index=False,
    )
    # Answers through an emailed link update this one response: a OneToOne makes
    # "one response per invitation" hold under double clicks and races.
    invitation = models.OneToOneField(
        "surveys.Invitation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="response",
    )
    score = models.PositiveSmallIntegerField(_("score"))
    # The survey's scale when this answer was given. Copied so the database can
    # enforce "score within scale" with a CHECK constraint on this row alone.
    scale_min = models.PositiveSmallIntegerField()
    scale_max = models.PositiveSmallIntegerField()
    comment = models.TextField(_("comment"), blank=True, max_length=MAX_COMMENT_LENGTH)
    # The language the respondent was asked in (page, email, widget): follow-up
    # emails and texts use it. The comment may be written in another one, which
    # the process_response job detects into comment_language (themes use that).
    language = models.CharField(_("language"), max_length=8, blank=True)
    comment_language = models.CharField(_("comment language"), max_length=8, blank=True)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    # The contact's properties at answer time: segments must not move when a
    # contact is edited later.
    properties = models.JSONField(_("properties"), default=dict, blank=True)
    # Where the answer came from outside Kaiku (import row, helpdesk ticket …).
    source_ref = models.CharField(_("source reference"), max_length=200, blank=True)
    # Lets an anonymous respondent (public link, kiosk, widget) add the comment
    # and change the score for 24 hours without an account.
    edit_token = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # The team's own labels and notes on an answer (PATCH /api/v1/responses/{id}),
    # never shown to the respondent. Tags: short strings (kaiku.api.routes.responses_list).
    tags = models.JSONField(_("tags"), default=list, blank=True)
    notes = models.TextField(_("notes"), blank=True, max_length=MAX_COMMENT_LENGTH)
    # Makes API retries and re-imports idempotent; unique per workspace.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    created_at = models.DateTimeField(_("answered at"), default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    score__gte=models.F("scale_min"),
                    score__lte=models.F("scale_max"),
                    scale_max__lte=10,
                ),
                name="response_score_within_scale",
            ),
            models.UniqueConstraint(
                fields=["workspace", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="response_unique_idempotency_key",
            ),
        ]
        indexes = [
            # Dashboards: one survey over a date range, aggregating score counts.
            # score is in the key so SQLite and PostgreSQL answer from the index alone.
            models.Index(fields=["survey", "created_at", "score"], name="response_survey_time"),
            # Workspace overview and the first screen: all surveys over a date range.
            models.Index(fields=["workspace", "created_at"], name="response_workspace_time"),
            # API sync (`updated_since`) and Delighted-style `updated_at` ordering.
            models.Index(fields=["workspace", "updated_at"], name="response_workspace_updated"),
            # A contact's answer history (case pages, throttling, re-surveys).
            models.Index(fields=["contact", "created_at"], name="response_contact_time"),
        ]

    def __str__(self) -> str:
        return f"{self.score} on {self.survey_id} at {self.created_at:%Y-%m-%d}"

    def clean(self) -> None:
        self._copy_scale()
        if self.score is None or not self.scale_min <= self.score <= self.scale_max:
            raise ValidationError(
                {
                    "score": _("The score must be a whole number from %(lo)d to %(hi)d.")
                    % {"lo": self.scale_min, "hi": self.scale_max}
                }
            )

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The model layer refuses out-of-scale scores before the database has to
        # (the CHECK constraint still guards bulk inserts and raw SQL).
        self.clean()
        super().save(*args, **kwargs)

    def insert(self, also: plainsql.Also | None = None) -> None:
        """save() of a new answer on the answer path: the same checks and row, with
        an INSERT that is not compiled on every answer (kaiku.lib.plainsql); `also`:
        another row written in the same statement (PostgreSQL)."""
        self.clean()
        plainsql.insert(self, using=router.db_for_write(Response), also=also)

    def _copy_scale(self) -> None:
        if self.scale_max is None and self.survey_id is not None:
            self.scale_min, self.scale_max = self.survey.scale_min, self.survey.scale_max


class RowidOneToOneField(models.OneToOneField):
    """A one-to-one primary key that is SQLite's rowid (`integer`, not `bigint`: the same
    64 bits there). The table is then one B-tree instead of a table and its primary key's
    index: one page less written with every answer (docs/performance.md). Elsewhere
    the column is the target's usual type."""

    def db_type(self, connection: BaseDatabaseWrapper) -> str | None:
        if connection.vendor == "sqlite" and self.primary_key:
            return "integer"
        return super().db_type(connection)


class ProcessingOutbox(models.Model):
    """Answers whose `process_response` job is still to be queued (database queue only).

    The answer path writes this one small row in the answer's own transaction
    instead of the job row, which costs several times more (docs/performance.md);
    the workers move the rows into the job queue (kaiku.responses.outbox). A row
    exists once per answer however often it changes before it is moved: the job
    reads the answer's latest state.
    """

    response = RowidOneToOneField(
        Response, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    queued_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"process {self.pk} (queued {self.queued_at:%Y-%m-%d %H:%M:%S})"


def new_kiosk_key() -> str:
    """An unguessable per-device key (192 bits), safe in URLs."""
    return secrets.token_urlsafe(24)


class KioskDevice(models.Model):
    """A tablet at a counter that shows one survey and resets after each answer.

    The key in its URL is the device's only credential: revoke a lost tablet by
    deactivating it (or deleting it) in the admin.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="kiosks")
    name = models.CharField(_("name"), max_length=120)
    key = models.CharField(max_length=64, unique=True, default=new_kiosk_key, editable=False)
    # Stored as the `location` property on every answer from this device.
    location = models.CharField(_("location"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.survey_id is not None and self.survey.workspace_id != self.workspace_id:
            raise ValidationError({"survey": _("The survey belongs to another workspace.")})
