"""The case as the REST API returns it; the case.opened and case.updated webhook events too."""

from __future__ import annotations

from typing import Any, Literal

from django.utils import timezone
from ninja import Schema
from pydantic import Field

from kaiku.api.schemas import ContactOut, UtcDatetime
from kaiku.loop.models import Case

StatusName = Literal["open", "in_progress", "waiting", "resolved", "closed"]
ReasonName = Literal["detractor", "passive", "keyword", "theme", "score_drop"]


class MemberOut(Schema):
    id: int = Field(description="The user's id.")
    email: str
    name: str


class CategoryOut(Schema):
    id: int
    key: str
    name: str = Field(description="The name shown in the workspace's default language.")


class CaseOut(Schema):
    id: int
    survey: int = Field(validation_alias="survey_id")
    response: int = Field(validation_alias="response_id")
    contact: ContactOut | None
    reason: ReasonName
    reason_detail: str = Field(description="The keyword, theme ids or score change that matched.")
    score: int = Field(description="The answer's score when the case opened.")
    status: StatusName
    assignee: MemberOut | None
    due_at: UtcDatetime | None
    overdue: bool
    first_action_at: UtcDatetime | None
    contacted_at: UtcDatetime | None
    resolved_at: UtcDatetime | None
    closed_at: UtcDatetime | None
    category: CategoryOut | None
    resurvey_invitation: int | None = Field(validation_alias="resurvey_invitation_id")
    recovery_score: int | None = Field(
        description="The contact's first score for the survey after the case was resolved."
    )
    recovered: bool | None = Field(
        description="A detractor who later answered 7 or more (null until a later answer)."
    )
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @staticmethod
    def resolve_overdue(case: Case) -> bool:
        return case.is_overdue(timezone.now())

    @staticmethod
    def resolve_category(case: Case) -> dict[str, Any] | None:
        if case.category is None:
            return None
        return {"id": case.category.pk, "key": case.category.key, "name": str(case.category.label)}


def case_data(case: Case) -> dict[str, Any]:
    """The JSON-ready representation (webhook events)."""
    return CaseOut.model_validate(case).model_dump(mode="json")
