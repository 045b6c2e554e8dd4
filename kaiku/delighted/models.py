"""Per-workspace settings of the Delighted-compatible API, and Autopilot memberships."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kaiku.accounts.models import Workspace
from kaiku.contacts.models import Contact
from kaiku.surveys.models import Survey

DEFAULT_AUTOPILOT_DAYS = 90


class DelightedSettings(models.Model):
    """Which Kaiku survey plays Delighted's "project" for this workspace.

    Delighted keys belong to one project (one survey); Kaiku keys belong to a
    workspace with many surveys. Writes without a `trend` go to the target
    survey, and lists and metrics without a `trend` read it.
    """

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="delighted_settings"
    )
    target_survey = models.ForeignKey(
        Survey,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("target survey"),
        help_text=_("Delighted clients send people and answers to this survey."),
    )
    autopilot_active = models.BooleanField(
        _("Autopilot on"),
        default=False,
        help_text=_("People added to Autopilot get the target survey again every period."),
    )
    autopilot_frequency_days = models.PositiveSmallIntegerField(
        _("Autopilot period (days)"), default=DEFAULT_AUTOPILOT_DAYS
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Delighted settings")
        verbose_name_plural = _("Delighted settings")

    def __str__(self) -> str:
        return f"Delighted settings of {self.workspace_id}"

    def clean(self) -> None:
        if self.target_survey is not None and self.target_survey.workspace_id != self.workspace_id:
            raise ValidationError({"target_survey": _("The survey belongs to another workspace.")})


class Platform(models.TextChoices):
    EMAIL = "email", _("Email")


class AutopilotMembership(models.Model):
    """A person enrolled in Delighted-style recurring surveys (Autopilot)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    # Cascades: erasing a contact (GDPR) removes its memberships too.
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="autopilot_memberships"
    )
    platform = models.CharField(max_length=8, choices=Platform.choices, default=Platform.EMAIL)
    properties = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "platform"], name="autopilot_unique_contact_platform"
            ),
        ]
        indexes = [
            # The memberships list: one workspace's members in id order (cursor paging).
            models.Index(fields=["workspace", "platform", "id"], name="autopilot_ws_list"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.platform} Autopilot"
