"""A workspace's theme taxonomy and which answers mention which theme."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kaiku.accounts.models import SUPPORTED_LANGUAGES, Workspace
from kaiku.responses.models import Response
from kaiku.themes.starter import STARTER_LABELS

MAX_PHRASE_LENGTH = 100


class Taxonomy(models.Model):
    """One per workspace: the version every taxonomy change bumps.

    Workers cache a compiled matcher per workspace and recompile when `version`
    moves; the recompute job records the version it finished in `applied_version`
    so the page can say "themes are being recomputed".
    """

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField(default=1)
    applied_version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"taxonomy v{self.version} of {self.workspace_id}"

    @property
    def is_current(self) -> bool:
        return self.applied_version >= self.version


class Theme(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="themes")
    # Stable identifier: starter keys ("delivery") or a slug made from the name.
    key = models.SlugField(_("key"), max_length=60)
    # Blank for an untouched starter theme: its built-in label shows, translated.
    name = models.CharField(_("name"), max_length=80, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # A merged theme keeps its row (old links and exports still resolve) and
    # points at the theme that took over its keywords and tags.
    merged_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="merged_from"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="theme_unique_key"),
        ]

    def __str__(self) -> str:
        return str(self.label)

    @property
    def label(self) -> str | Promise:
        return self.name or STARTER_LABELS.get(self.key, self.key)


class ThemeKeyword(models.Model):
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="keywords")
    language = models.CharField(
        _("language"), max_length=8, choices=[(c, c) for c in SUPPORTED_LANGUAGES]
    )
    phrase = models.CharField(_("keyword"), max_length=MAX_PHRASE_LENGTH)

    class Meta:
        ordering = ["language", "phrase"]
        constraints = [
            models.UniqueConstraint(
                fields=["theme", "language", "phrase"], name="themekeyword_unique_phrase"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.language}: {self.phrase}"


class Source(models.TextChoices):
    AUTO = "auto", _("Automatic")
    MANUAL = "manual", _("Manual")


class ResponseTheme(models.Model):
    """An answer mentions a theme, or — `removed` on a manual row — a person said it does not.

    One row per (response, theme). Automatic assignment writes and deletes only
    `auto` rows; a person's tag or untag turns the row `manual`, which the
    matcher never touches again: manual overrides automatic. A theme counts
    for an answer when its row exists and is not `removed`.
    """

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="theme_links")
    theme = models.ForeignKey(Theme, on_delete=models.CASCADE, related_name="response_links")
    source = models.CharField(max_length=6, choices=Source.choices, default=Source.AUTO)
    removed = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["response", "theme"], name="responsetheme_unique"),
        ]
        indexes = [
            # The themes table: per theme, join to the answers of one survey and
            # period and count by score group (kaiku.themes.queries.theme_counts).
            models.Index(fields=["theme", "removed", "response"], name="responsetheme_theme"),
        ]

    def __str__(self) -> str:
        return f"{self.response_id} → {self.theme_id} ({self.source})"
