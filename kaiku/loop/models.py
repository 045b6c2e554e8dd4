"""Follow-up cases and what surrounds them: rules per survey, the case, its timeline, alerts."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kaiku.accounts.models import Membership, Workspace
from kaiku.contacts.models import Contact
from kaiku.responses.models import Response
from kaiku.surveys.models import Invitation, Survey

MAX_KEYWORDS = 50
MAX_KEYWORD_LENGTH = 60
MAX_THEMES = 50
PROPERTY_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_ .-]{0,63}$")


def validate_keywords(value: Any) -> None:
    if (
        not isinstance(value, list)
        or len(value) > MAX_KEYWORDS
        or any(
            not isinstance(k, str) or not k.strip() or len(k) > MAX_KEYWORD_LENGTH for k in value
        )
    ):
        raise ValidationError(
            _(
                "Keywords must be a list of at most %(max)d words or phrases "
                "of 1–%(len)d characters."
            ),
            params={"max": MAX_KEYWORDS, "len": MAX_KEYWORD_LENGTH},
        )


def validate_theme_ids(value: Any) -> None:
    if (
        not isinstance(value, list)
        or len(value) > MAX_THEMES
        or any(not isinstance(i, int) or isinstance(i, bool) or i <= 0 for i in value)
    ):
        raise ValidationError(_("Themes must be a list of theme ids."))


def validate_property_name(value: str) -> None:
    if value and not PROPERTY_NAME.match(value):
        raise ValidationError(_("Use letters, digits, spaces, dots, dashes and underscores."))


class AssignmentMode(models.TextChoices):
    NONE = "none", _("Nobody (the fallback, if any)")
    ROUND_ROBIN = "round_robin", _("Round-robin among chosen members")
    PROPERTY = "property", _("The member named in a contact property")


class PromoterAction(models.TextChoices):
    NONE = "none", _("Nothing")
    REVIEW = "review", _("Ask for a review")
    REFERRAL = "referral", _("Send a referral link")


class LoopSettings(models.Model):
    """A survey's case rules, assignment, SLA, re-survey and promoter follow-up.

    A survey without a row behaves like the defaults below: a case for every
    detractor, unassigned, due in 48 hours (see kaiku.loop.rules.settings_for).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    survey = models.OneToOneField(Survey, on_delete=models.CASCADE, related_name="loop_settings")
    enabled = models.BooleanField(_("open follow-up cases"), default=True)
    open_for_detractors = models.BooleanField(
        _("every detractor"), default=True, help_text=_("NPS 0–6; the low scores of CSAT and CES.")
    )
    open_for_passives = models.BooleanField(
        _("every passive"), default=False, help_text=_("NPS 7–8; the middle of CSAT and CES.")
    )
    keywords = models.JSONField(
        _("comment keywords"),
        default=list,
        blank=True,
        validators=[validate_keywords],
        help_text=_("Any answer whose comment contains one of these (at the start of a word)."),
    )
    theme_ids = models.JSONField(
        _("themes"), default=list, blank=True, validators=[validate_theme_ids]
    )
    # Null: off. Otherwise the drop in points against the contact's previous answer.
    score_drop = models.PositiveSmallIntegerField(
        _("score drop (points)"),
        null=True,
        blank=True,
        help_text=_("A contact whose score fell by this much since their previous answer."),
    )
    assignment = models.CharField(
        _("assign to"), max_length=12, choices=AssignmentMode.choices, default=AssignmentMode.NONE
    )
    assignees = models.ManyToManyField(
        Membership, blank=True, related_name="+", verbose_name=_("round-robin members")
    )
    # The next turn of the round-robin (an index into the members ordered by id),
    # moved with the settings row locked so two cases never take the same turn.
    round_robin_next = models.PositiveIntegerField(default=0)
    assignee_property = models.CharField(
        _("contact property with the member's email"),
        max_length=64,
        blank=True,
        validators=[validate_property_name],
        help_text=_("For example account_owner."),
    )
    fallback = models.ForeignKey(
        Membership,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("fallback member"),
    )
    sla_hours = models.PositiveSmallIntegerField(
        _("due within (hours)"),
        null=True,
        blank=True,
        default=48,
        help_text=_("Empty: cases have no due date."),
    )
    resurvey_days = models.PositiveSmallIntegerField(
        _("re-survey after (days)"),
        null=True,
        blank=True,
        help_text=_(
            "Invite the contact again this many days after the case is resolved; the "
            "recontact window still applies. Empty: no re-survey."
        ),
    )
    promoter_action = models.CharField(
        _("for promoters"), max_length=10, choices=PromoterAction.choices, default="none"
    )
    promoter_url = models.URLField(
        _("review or referral link"), blank=True, help_text=_("Where the email's button leads.")
    )
    slack_webhook_url = models.URLField(
        _("team channel webhook"),
        max_length=500,
        blank=True,
        help_text=_(
            "A Slack-compatible incoming webhook: new cases and significant drops are posted there."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("loop settings")

    def __str__(self) -> str:
        return f"loop settings of {self.survey_id}"

    def clean(self) -> None:
        if self.promoter_action != PromoterAction.NONE and not self.promoter_url:
            raise ValidationError({"promoter_url": _("The promoter email needs a link.")})
        if self.assignment == AssignmentMode.PROPERTY and not self.assignee_property:
            raise ValidationError({"assignee_property": _("Name the contact property.")})


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING = "waiting", _("Waiting for customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


# Statuses in which a case is still someone's work (and can be overdue).
ACTIVE_STATUSES = (CaseStatus.OPEN, CaseStatus.IN_PROGRESS, CaseStatus.WAITING)
DONE_STATUSES = (CaseStatus.RESOLVED, CaseStatus.CLOSED)
# Moves change_status allows. Resolving needs a category (actions.resolve) and
# leaving resolved/closed is a reopen (actions.reopen), so neither is listed here.
TRANSITIONS: dict[str, frozenset[str]] = {
    CaseStatus.OPEN: frozenset({CaseStatus.IN_PROGRESS, CaseStatus.WAITING, CaseStatus.CLOSED}),
    CaseStatus.IN_PROGRESS: frozenset({CaseStatus.OPEN, CaseStatus.WAITING, CaseStatus.CLOSED}),
    CaseStatus.WAITING: frozenset({CaseStatus.IN_PROGRESS, CaseStatus.CLOSED}),
    CaseStatus.RESOLVED: frozenset({CaseStatus.CLOSED}),
    CaseStatus.CLOSED: frozenset(),
}


class CaseReason(models.TextChoices):
    DETRACTOR = "detractor", _("Detractor")
    PASSIVE = "passive", _("Passive")
    KEYWORD = "keyword", _("Keyword in the comment")
    THEME = "theme", _("Theme")
    SCORE_DROP = "score_drop", _("Score dropped")


class ResolutionCategory(models.Model):
    """A root cause / resolution, chosen when a case is resolved; editable per workspace."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    # Starter keys ("product") show a translated label while `name` is blank.
    key = models.SlugField(max_length=60)
    name = models.CharField(_("name"), max_length=80, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="resolutioncategory_key"),
        ]

    def __str__(self) -> str:
        return str(self.label)

    @property
    def label(self) -> str | Promise:
        from kaiku.loop.starter import CATEGORY_LABELS

        return self.name or CATEGORY_LABELS.get(self.key, self.key)


class Case(models.Model):
    """A follow-up of one answer: who handles it, by when, and how it ended."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="cases")
    # One case per answer: the unique key makes the opening job idempotent.
    response = models.OneToOneField(Response, on_delete=models.CASCADE, related_name="case")
    contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="cases"
    )
    reason = models.CharField(_("reason"), max_length=12, choices=CaseReason.choices)
    reason_detail = models.CharField(max_length=200, blank=True)
    # The answer's score when the case opened (the answer may be edited for 24 h).
    score = models.PositiveSmallIntegerField(_("score"))
    status = models.CharField(
        _("status"), max_length=12, choices=CaseStatus.choices, default=CaseStatus.OPEN
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assignee"),
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    first_action_at = models.DateTimeField(null=True, blank=True)
    # A reply was emailed or the case waited for the customer (contacted another way).
    contacted_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    category = models.ForeignKey(
        ResolutionCategory,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("resolution category"),
    )
    # Claims: each alert goes once, whatever the number of workers.
    alerted_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    resurvey_at = models.DateTimeField(null=True, blank=True)
    resurvey_invitation = models.ForeignKey(
        Invitation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The contact's first answer to the survey after the case was resolved.
    recovery_response = models.ForeignKey(
        Response, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recovery_score = models.PositiveSmallIntegerField(null=True, blank=True)
    recovered = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The overdue sweep (kaiku.loop.alerts.sweep_overdue): active cases by due time.
            models.Index(
                fields=["due_at"],
                condition=models.Q(status__in=["open", "in_progress", "waiting"])
                & models.Q(escalated_at__isnull=True),
                name="case_overdue_due",
            ),
            # The re-survey sweep (kaiku.loop.resurvey.sweep_resurveys).
            models.Index(
                fields=["resurvey_at"],
                condition=models.Q(resurvey_at__isnull=False),
                name="case_resurvey_due",
            ),
            # Inbox and board: a workspace's cases by status and assignee, newest first.
            models.Index(fields=["workspace", "status", "-created_at"], name="case_board"),
            models.Index(fields=["workspace", "assignee", "status"], name="case_inbox"),
            # Loop metrics per survey and period.
            models.Index(fields=["survey", "created_at"], name="case_survey_time"),
            # Recovery: a contact's resolved cases waiting for a later answer.
            models.Index(fields=["contact", "survey", "resolved_at"], name="case_contact"),
        ]

    def __str__(self) -> str:
        return f"case {self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def is_overdue(self, now: Any = None) -> bool:
        return self.is_active and self.due_at is not None and self.due_at < (now or timezone.now())


class EventKind(models.TextChoices):
    OPENED = "opened", _("Opened")
    ASSIGNED = "assigned", _("Assigned")
    STATUS = "status", _("Status changed")
    RESOLVED = "resolved", _("Resolved")
    REOPENED = "reopened", _("Reopened")
    CATEGORY = "category", _("Category changed")
    NOTE = "note", _("Note")
    REPLY = "reply", _("Reply")
    REMINDED = "reminded", _("Overdue reminder sent")
    ESCALATED = "escalated", _("Escalated to admins")
    RESURVEY = "resurvey", _("Re-survey")
    RECOVERY = "recovery", _("New answer")


class CaseEvent(models.Model):
    """One change of a case: who (null: Kaiku or an API key), when, what, from and to."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    via = models.CharField(max_length=10, blank=True)  # "", "api" or "system"
    kind = models.CharField(max_length=10, choices=EventKind.choices)
    from_value = models.CharField(max_length=200, blank=True)
    to_value = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="caseevent_case")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.from_value}→{self.to_value}"


MAX_NOTE_LENGTH = 5000


class CaseNote(models.Model):
    """An internal note: the team's, never sent to the customer."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField(_("note"), max_length=MAX_NOTE_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"note on {self.case_id}"


class ReplyStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class CaseReply(models.Model):
    """An email to the customer from the case, as sent (placeholders filled in)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="replies")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    to_email = models.EmailField()
    language = models.CharField(max_length=8)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"), max_length=MAX_NOTE_LENGTH)
    status = models.CharField(max_length=8, choices=ReplyStatus.choices, default="queued")
    error = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"reply on {self.case_id} ({self.status})"


class AlertPreference(models.Model):
    """A member's choices; a member without a row gets `kaiku.loop.alerts.DEFAULTS`."""

    membership = models.OneToOneField(
        Membership, on_delete=models.CASCADE, related_name="alert_preference"
    )
    new_case_email = models.BooleanField(_("email me when a case is opened for me"), default=True)
    overdue_email = models.BooleanField(_("email me about overdue cases"), default=True)
    drop_email = models.BooleanField(_("email me about significant drops"), default=False)
    digest = models.BooleanField(_("daily digest email"), default=False)
    slack_webhook_url = models.URLField(
        _("my Slack-compatible webhook"),
        max_length=500,
        blank=True,
        help_text=_("New cases for you are also posted here (an incoming webhook URL)."),
    )
    # The local day of the last digest: the digest job's claim (one per day).
    last_digest_on = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"alert preferences of {self.membership_id}"


class AlertKind(models.TextChoices):
    NEW_CASE = "new_case", _("New case")
    REMINDER = "reminder", _("Overdue reminder")
    ESCALATION = "escalation", _("Escalation")
    DROP = "drop", _("Significant drop")
    DIGEST = "digest", _("Daily digest")
    PROMOTER = "promoter", _("Promoter follow-up")
    REPLY = "reply", _("Reply to customer")


class AlertChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SLACK = "slack", _("Slack-compatible webhook")


class AlertStatus(models.TextChoices):
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class AlertDelivery(models.Model):
    """One attempt to deliver an alert, email or webhook, whatever came of it."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(
        Case, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts"
    )
    survey = models.ForeignKey(
        Survey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=AlertKind.choices)
    channel = models.CharField(max_length=5, choices=AlertChannel.choices)
    # An email address, or a webhook's host and a shortened path (the full URL
    # of a Slack webhook is a credential and stays out of logs and pages).
    target = models.CharField(max_length=254)
    status = models.CharField(max_length=6, choices=AlertStatus.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="alertdelivery_log")]

    def __str__(self) -> str:
        return f"{self.kind} {self.channel} → {self.target}: {self.status}"


class PromoterFollowUp(models.Model):
    """The promoter email for one answer: the row is the claim (one per answer)."""

    response = models.OneToOneField(Response, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=10, choices=PromoterAction.choices)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.action} for {self.response_id}"


class DropCheck(models.Model):
    """The daily significant-drop check of one survey and window (7 or 30 days).

    The unique key makes the check, and its alert, happen once per local day
    whatever the number of workers.
    """

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()  # the workspace's local day of the check
    window_days = models.PositiveSmallIntegerField()
    n_recent = models.PositiveIntegerField()
    n_previous = models.PositiveIntegerField()
    value_recent = models.FloatField(null=True)
    value_previous = models.FloatField(null=True)
    delta = models.FloatField(null=True)
    p_value = models.FloatField(null=True)
    low_base = models.BooleanField()
    significant_drop = models.BooleanField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-day", "window_days"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "day", "window_days"], name="dropcheck_once"),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id} {self.day} {self.window_days}d"
