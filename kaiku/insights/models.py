"""Analytics settings and artefacts: goals, report subscriptions, shared dashboard links."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kaiku.accounts.models import Membership, Workspace
from kaiku.surveys.models import Survey


class Metric(models.TextChoices):
    NPS = "nps", _("NPS")
    CSAT = "csat", _("CSAT (% satisfied)")
    CES = "ces", _("CES (mean)")


class Goal(models.Model):
    """A target for a survey's headline figure over a period, optionally for one segment."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="goals")
    metric = models.CharField(_("metric"), max_length=4, choices=Metric.choices)
    target = models.FloatField(_("target"))
    segment_property = models.CharField(_("segment property"), max_length=64, blank=True)
    segment_value = models.CharField(_("segment value"), max_length=500, blank=True)
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["period_start", "pk"]

    def __str__(self) -> str:
        return f"{self.metric} {self.target} ({self.period_start}–{self.period_end})"

    def clean(self) -> None:
        if self.period_end and self.period_start and self.period_end < self.period_start:
            raise ValidationError({"period_end": _("The period ends before it starts.")})
        if bool(self.segment_property) != bool(self.segment_value):
            raise ValidationError(
                {"segment_value": _("Give both the segment property and its value, or neither.")}
            )
        bounds = {"nps": (-100.0, 100.0), "csat": (0.0, 100.0), "ces": (1.0, 7.0)}
        low, high = bounds.get(self.metric, (-100.0, 100.0))
        if self.target is not None and not low <= self.target <= high:
            raise ValidationError(
                {"target": _("The target must lie between %(lo)s and %(hi)s.")},
                params={"lo": low, "hi": high},
            )


class Frequency(models.TextChoices):
    WEEKLY = "weekly", _("Weekly")
    MONTHLY = "monthly", _("Monthly")


class ReportSubscription(models.Model):
    """A member's opt-in to a scheduled report email (one survey, or all when survey is empty)."""

    member = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    survey = models.ForeignKey(
        Survey, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    frequency = models.CharField(
        _("frequency"), max_length=8, choices=Frequency.choices, default=Frequency.WEEKLY
    )
    # The local day the last report went out; the job claims a due row by a conditional
    # update of this field, so two workers never send the same report twice.
    last_sent_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member", "survey"], name="reportsubscription_unique_survey"
            ),
            models.UniqueConstraint(
                fields=["member"],
                condition=models.Q(survey__isnull=True),
                name="reportsubscription_unique_all",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} {self.frequency}"

    def is_due(self, today: date) -> bool:
        if self.last_sent_on is None:
            return True
        if self.frequency == Frequency.WEEKLY:
            return (today - self.last_sent_on).days >= 7
        return (today.year, today.month) != (self.last_sent_on.year, self.last_sent_on.month)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class DashboardShare(models.Model):
    """A read-only link to one survey's dashboard with fixed filters; no personal data shown.

    Only a SHA-256 of the token is stored: the link is shown once, when it is created.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="shares")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    filters = models.JSONField(default=dict)  # ResponseFilter.to_dict() + period, by
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"share of {self.survey_id} until {self.expires_at:%Y-%m-%d}"

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


class WorkspaceAnalyticsSettings(models.Model):
    """Per-workspace analytics knobs: which contact properties hold lifecycle dates."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="analytics_settings"
    )
    customer_since_property = models.CharField(
        _("customer since property"), max_length=64, default="customer_since"
    )
    churned_at_property = models.CharField(
        _("churned at property"), max_length=64, default="churned_at"
    )

    def __str__(self) -> str:
        return f"analytics settings of {self.workspace_id}"

    @classmethod
    def for_workspace(cls, workspace: Workspace) -> WorkspaceAnalyticsSettings:
        found = cls.objects.filter(workspace=workspace).first()
        return found or cls(workspace=workspace)


class DailyHistogram(models.Model):
    """Answer counts per (survey, local day, key, value, score): the dashboards' rollup.

    key "" is every answer (value ""); "@channel", "@language" and "@tenure" are the answer's
    channel, language and derived tenure; any other key is a snapshot property. Maintained by
    kaiku.insights.rollup.refresh_rollups(); see docs/performance.md for why it exists.
    """

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()  # local day in the workspace's time zone
    key = models.CharField(max_length=64)
    value = models.CharField(max_length=200)
    score = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "key", "day", "value", "score"], name="dailyhistogram_unique"
            ),
        ]
        indexes = [
            # Dashboards read one survey's keys over a date range; count in the key so both
            # engines answer from the index alone.
            models.Index(
                fields=["survey", "key", "day", "value", "score", "count"],
                name="dailyhistogram_covering",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id} {self.day} {self.key}={self.value} {self.score}: {self.count}"


class SurveyRollup(models.Model):
    """How far a survey's DailyHistogram rows are complete.

    Days up to `rolled_through` (local) come from the rollup; later days are counted live from
    the answers. `watermark` is the start of the last refresh: answers updated since then have
    their days rolled up again on the next run.
    """

    survey = models.OneToOneField(Survey, on_delete=models.CASCADE, related_name="rollup")
    rolled_through = models.DateField()
    watermark = models.DateTimeField()
    zone = models.CharField(max_length=64)  # the workspace zone the days were computed in

    def __str__(self) -> str:
        return f"rollup of {self.survey_id} through {self.rolled_through}"
