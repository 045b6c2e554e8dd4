"""Import runs, per-workspace data policy and the audit log."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kaiku.accounts.models import Workspace


class AuditAction(models.TextChoices):
    CONTACT_ERASED = "contact.erased", _("Contact erased")
    CONTACT_EXPORTED = "contact.exported", _("Contact data exported")
    RETENTION_APPLIED = "retention.applied", _("Retention policy applied")
    RETENTION_CHANGED = "retention.changed", _("Retention policy changed")
    IMPORT_STARTED = "import.started", _("Import started")
    IMPORT_FINISHED = "import.finished", _("Import finished")
    EXPORT_DOWNLOADED = "export.downloaded", _("Data exported")
    WORKSPACE_EXPORTED = "workspace.exported", _("Workspace exported")
    WORKSPACE_IMPORTED = "workspace.imported", _("Workspace imported")


class ActorType(models.TextChoices):
    USER = "user", _("User")
    API_KEY = "api_key", _("API key")
    SYSTEM = "system", _("System")


class AuditLog(models.Model):
    """Who did what to personal data, and when. Rows are only ever added.

    The actor is kept both as a link and as text (`actor_label`), so the entry
    still says who acted after the user or key is deleted. Details never hold
    the personal data that was acted on (an erased contact's email would
    otherwise survive its erasure here): ids and counts only.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="audit_logs")
    actor_type = models.CharField(_("actor type"), max_length=10, choices=ActorType.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    api_key = models.ForeignKey(
        "api.ApiKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(_("actor"), max_length=200)
    action = models.CharField(_("action"), max_length=40, choices=AuditAction.choices)
    object_type = models.CharField(_("object type"), max_length=40, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The audit page: a workspace's newest entries first.
            models.Index(fields=["workspace", "-created_at"], name="auditlog_workspace_time"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}#{self.object_id} by {self.actor_label}"


class WorkspaceDataPolicy(models.Model):
    """A workspace's data-protection settings: how long personal data is kept."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="data_policy"
    )
    # Null keeps data until someone erases it. The daily retention job
    # (kaiku.transfer.gdpr.apply_retention) anonymises anything older.
    retention_months = models.PositiveSmallIntegerField(
        _("keep personal data for (months)"),
        null=True,
        blank=True,
        help_text=_(
            "Comments and personal data older than this are anonymised every night; "
            "scores are kept. Empty keeps them until erased."
        ),
    )
    retention_applied_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.workspace}: {self.retention_months or '∞'} months"


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    CHECKED = "checked", _("Checked (dry run)")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportRun(models.Model):
    """One file brought into a workspace: its settings, progress and report.

    `counts` holds rows/created/duplicates/rejected; `report` the rejected
    rows (row number, field, reason), capped at MAX_REPORTED_ROWS so a
    million bad rows do not make a million-entry JSON value.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="import_runs")
    survey = models.ForeignKey(
        "surveys.Survey", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(_("format"), max_length=20)
    filename = models.CharField(_("file"), max_length=255)
    # Where the uploaded file waits for the background job (under KAIKU_DATA_DIR);
    # emptied once the import is done.
    stored_path = models.CharField(max_length=500, blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    dry_run = models.BooleanField(default=False)
    processed_rows = models.PositiveIntegerField(default=0)
    total_bytes = models.PositiveBigIntegerField(default=0)
    processed_bytes = models.PositiveBigIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    report = models.JSONField(default=list, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.source} {self.filename} ({self.status})"

    @property
    def progress_percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        if not self.total_bytes:
            return 0
        return min(99, int(100 * self.processed_bytes / self.total_bytes))

    def count(self, name: str) -> Any:
        return (self.counts or {}).get(name, 0)
