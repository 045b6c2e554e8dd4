"""The people a workspace surveys."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kaiku.accounts.models import SUPPORTED_LANGUAGES, Workspace

# Bounds that keep one contact's properties small enough to snapshot on every
# response without bloating the analytics table.
MAX_PROPERTIES = 50
MAX_PROPERTY_KEY = 64
MAX_PROPERTY_VALUE = 500


def validate_properties(value: Any) -> None:
    """Properties are a flat object of short keys to scalar values."""
    if not isinstance(value, dict):
        raise ValidationError(_("Properties must be an object of names to values."))
    if len(value) > MAX_PROPERTIES:
        raise ValidationError(
            _("At most %(max)d properties are allowed."), params={"max": MAX_PROPERTIES}
        )
    for key, item in value.items():
        if not isinstance(key, str) or not key or len(key) > MAX_PROPERTY_KEY:
            raise ValidationError(
                _("Property names must be 1 to %(max)d characters."),
                params={"max": MAX_PROPERTY_KEY},
            )
        if item is not None and not isinstance(item, str | int | float | bool):
            raise ValidationError(
                _("Property %(key)s must be text, a number, true/false or empty."),
                params={"key": key},
            )
        if isinstance(item, str) and len(item) > MAX_PROPERTY_VALUE:
            raise ValidationError(
                _("Property %(key)s is longer than %(max)d characters."),
                params={"key": key, "max": MAX_PROPERTY_VALUE},
            )


class Contact(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="contacts")
    # Stored lower-cased (see save()) so that uniqueness is case-insensitive.
    email = models.EmailField(_("email"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    external_id = models.CharField(_("external id"), max_length=128, null=True, blank=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    language = models.CharField(
        _("language"),
        max_length=8,
        blank=True,
        choices=[(c, c) for c in SUPPORTED_LANGUAGES],
    )
    properties = models.JSONField(_("properties"), default=dict, validators=[validate_properties])
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                "workspace",
                Lower("email"),
                condition=models.Q(email__isnull=False),
                name="contact_unique_email",
            ),
            models.UniqueConstraint(
                fields=["workspace", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="contact_unique_external_id",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.email or self.external_id or f"#{self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.email:
            self.email = self.email.strip().lower()
        else:
            self.email = None
        if not self.external_id:
            self.external_id = None
        super().save(*args, **kwargs)

    @property
    def can_be_emailed(self) -> bool:
        return bool(self.email) and self.unsubscribed_at is None and self.bounced_at is None
