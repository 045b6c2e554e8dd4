"""API keys: how programs authenticate to the REST API on behalf of a workspace."""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kaiku.accounts.models import Workspace

KEY_PREFIX = "kaiku"
PREFIX_LENGTH = 8


class Scope(models.TextChoices):
    READ = "read", _("Read only")
    READ_WRITE = "read_write", _("Read and write")


def hash_key(plaintext: str) -> str:
    """The stored form of a key.

    A plain SHA-256, not a password hash: keys carry ~190 random bits, so there is
    nothing to brute-force and no need for a salt or a slow KDF. A fast hash keeps
    every API request to one indexed lookup instead of ~50 ms of Argon2 work.
    """
    return hashlib.sha256(plaintext.encode()).hexdigest()


class ApiKey(models.Model):
    """A secret that lets a program use the API for one workspace.

    The plaintext (`kaiku_<prefix>_<secret>`) is shown once at creation; only its
    SHA-256 is stored. The prefix is kept in clear so people can tell keys apart.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=PREFIX_LENGTH, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scope = models.CharField(_("scope"), max_length=10, choices=Scope.choices, default=Scope.READ)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def can_write(self) -> bool:
        return self.scope == Scope.READ_WRITE

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    def is_active(self, now: datetime | None = None) -> bool:
        return self.revoked_at is None and not self.is_expired(now)
