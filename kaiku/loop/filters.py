"""The case list filters, read from and written back to the URL (shareable, bookmarkable).

Unknown values fall back to the defaults instead of failing: a stale bookmark
still shows a list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.db.models import F, Q, QuerySet
from django.http import QueryDict

from kaiku.loop.models import ACTIVE_STATUSES, Case, CaseStatus

STATUS_CHOICES = ("active", *CaseStatus.values, "all")


@dataclass(frozen=True)
class CaseFilter:
    status: str = "active"
    assignee: str = ""  # "", "me", "none" or a user id
    survey: int | None = None
    overdue: bool = False

    @classmethod
    def from_query(cls, params: QueryDict) -> CaseFilter:
        status = params.get("status") or "active"
        assignee = params.get("assignee") or ""
        survey = params.get("survey") or ""
        return cls(
            status=status if status in STATUS_CHOICES else "active",
            assignee=assignee if assignee in ("me", "none") or assignee.isdigit() else "",
            survey=int(survey) if survey.isdigit() else None,
            overdue=params.get("overdue") == "1",
        )

    def apply(self, cases: QuerySet[Case], user_id: int | None, now: datetime) -> QuerySet[Case]:
        if self.status == "active":
            cases = cases.filter(status__in=ACTIVE_STATUSES)
        elif self.status != "all":
            cases = cases.filter(status=self.status)
        if self.assignee == "me":
            cases = cases.filter(assignee_id=user_id)
        elif self.assignee == "none":
            cases = cases.filter(assignee__isnull=True)
        elif self.assignee:
            cases = cases.filter(assignee_id=int(self.assignee))
        if self.survey is not None:
            cases = cases.filter(survey_id=self.survey)
        if self.overdue:
            cases = cases.filter(Q(status__in=ACTIVE_STATUSES) & Q(due_at__lt=now))
        return cases

    def to_query(self, **changes: str) -> str:
        values = {
            "status": self.status if self.status != "active" else "",
            "assignee": self.assignee,
            "survey": str(self.survey) if self.survey else "",
            "overdue": "1" if self.overdue else "",
            **changes,
        }
        return urlencode({k: v for k, v in values.items() if v})


def ordered(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Soonest due first (overdue on top), then the newest; cases without a due date last."""
    return cases.order_by(F("due_at").asc(nulls_last=True), "-created_at", "-id")
