"""Users, workspaces (tenants) and their members."""

from __future__ import annotations

import secrets
import time
import zoneinfo
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

SUPPORTED_LANGUAGES = ("en", "fi", "et")


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone: %(zone)s"), params={"zone": value})


def validate_languages(value: Any) -> None:
    if (
        not isinstance(value, list)
        or not value
        or any(not isinstance(code, str) or code not in SUPPORTED_LANGUAGES for code in value)
    ):
        raise ValidationError(
            _("Languages must be a non-empty list of: %(codes)s"),
            params={"codes": ", ".join(SUPPORTED_LANGUAGES)},
        )


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in. Identified by email; belongs to workspaces through Membership."""

    email = models.EmailField(_("email"), unique=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    language = models.CharField(
        _("language"), max_length=8, default="en", choices=[(c, c) for c in SUPPORTED_LANGUAGES]
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name or self.email


class Workspace(models.Model):
    """A tenant: one company or brand. Nothing crosses a workspace's boundary."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    languages = models.JSONField(
        _("languages"),
        default=list,
        validators=[validate_languages],
        help_text=_("Languages surveys are offered in; also limits comment language detection."),
    )
    brand_name = models.CharField(_("brand name"), max_length=120, blank=True)
    brand_color = models.CharField(_("brand colour"), max_length=7, default="#2454d6")
    logo_url = models.URLField(_("logo URL"), blank=True)
    # Contact fatigue: nobody gets a second survey invitation inside this many
    # days, across all the workspace's surveys (a survey may override it).
    recontact_days = models.PositiveSmallIntegerField(
        _("recontact window (days)"),
        default=30,
        help_text=_("No contact is invited twice within this many days, across all surveys."),
    )
    # Off by default: a tracking pixel tells us when someone reads an email,
    # which some audiences (and works councils) reasonably object to.
    open_tracking = models.BooleanField(
        _("track email opens"),
        default=False,
        help_text=_("Adds an invisible image to invitation emails to record when they are opened."),
    )
    # Honoured by all workers together (counted in the database), so a big send
    # does not trip the mail provider's limits or reputation checks.
    email_rate_per_minute = models.PositiveIntegerField(
        _("emails per minute"),
        default=600,
        help_text=_("The most invitation and reminder emails sent in any one minute."),
    )
    # Signs identity claims (web widget user_id, public-link contact ids).
    secret = models.CharField(max_length=64, default=new_secret, editable=False)
    # Event types at least one active webhook endpoint subscribes to, kept by
    # kaiku.webhooks.subscriptions with every endpoint change. Read with the
    # workspace on the answer path, it saves the endpoint query per answer when
    # nobody listens (docs/performance.md). Too many types is harmless (one query
    # more), too few would lose events: every endpoint write refreshes it.
    webhook_events = models.JSONField(default=list, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    # When this object was read from the database (time.monotonic()); None if it was not.
    read_at: float | None = None

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Workspace:
        workspace = super().from_db(db, field_names, values)
        workspace.read_at = time.monotonic()
        return workspace

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.languages:
            self.languages = list(SUPPORTED_LANGUAGES)
        super().save(*args, **kwargs)

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def display_brand(self) -> str:
        return self.brand_name or self.name


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    AGENT = "agent", _("Agent")
    VIEWER = "viewer", _("Viewer")


# Who may manage members and workspace settings.
MANAGER_ROLES = frozenset({Role.OWNER, Role.ADMIN})


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user"),
        ]
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"

    @property
    def can_manage(self) -> bool:
        return self.role in MANAGER_ROLES


class TeamInvitation(models.Model):
    """An emailed link that lets someone join a workspace with a role."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("email"))
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.AGENT)
    token = models.CharField(max_length=64, unique=True, default=new_secret, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} → {self.workspace}"

    def is_expired(self) -> bool:
        age = timezone.now() - self.created_at
        return age.days >= settings.TEAM_INVITATION_DAYS
