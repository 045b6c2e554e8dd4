"""The cases export (CSV and JSON) on the workspace's export page.

Registered with kaiku.transfer.exporters from LoopConfig.ready(), so it appears
on /w/<slug>/export/ and at /w/<slug>/export/cases.csv|json like the answers.
One row per case with the answer it follows up and its outcome; notes and
replies are counted here and travel whole in the workspace JSON export.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.utils.translation import gettext_lazy as _

from kaiku.accounts.models import Workspace
from kaiku.loop.models import Case
from kaiku.transfer.exporters import (
    Column,
    ExportSpec,
    filter_survey_and_dates,
    register_export,
    row_value,
)

CASE_VALUES = (
    "id",
    "survey_id",
    "survey__name",
    "response_id",
    "response__comment",
    "score",
    "reason",
    "reason_detail",
    "status",
    "assignee__email",
    "contact_id",
    "contact__email",
    "contact__external_id",
    "category__key",
    "created_at",
    "due_at",
    "first_action_at",
    "contacted_at",
    "resolved_at",
    "closed_at",
    "recovery_score",
    "recovered",
    "updated_at",
)
HEADERS = {
    "survey__name": "survey",
    "response__comment": "comment",
    "assignee__email": "assignee",
    "contact__email": "email",
    "contact__external_id": "external_id",
    "category__key": "category",
}


def case_rows(workspace: Workspace, filters: dict[str, Any]) -> QuerySet[Any]:
    queryset = filter_survey_and_dates(Case.objects.filter(workspace=workspace), filters)
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    return (
        queryset.annotate(notes_count=Count("notes", distinct=True))
        .order_by("created_at", "id")
        .values(*CASE_VALUES, "notes_count")
    )


def case_columns(workspace: Workspace, filters: dict[str, Any], fmt: str) -> list[Column]:
    columns = [Column(HEADERS.get(key, key), row_value(key)) for key in CASE_VALUES]
    return [*columns, Column("notes", row_value("notes_count"))]


def register() -> None:
    register_export(
        ExportSpec(
            name="cases",
            label=_("Follow-up cases"),
            rows=case_rows,
            columns=case_columns,
            filters=("survey", "status", "since", "until"),
        )
    )
