"""Listing responses with filters, and the team's edits (comment, tags, notes).

The routes themselves live in kaiku.api.routes.responses (one router per
resource: GET /responses shares its path with POST /responses); this module
holds their query parameters, filters, the PATCH body and the update action.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from ninja import Field, Schema
from pydantic import AwareDatetime, field_validator, model_validator
from pydantic_core import PydanticCustomError

from kaiku.accounts.models import Workspace
from kaiku.api.access import get_survey_for_workspace, responses_for_workspace
from kaiku.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from kaiku.api.routes.contacts import filter_properties
from kaiku.api.schemas import ResponseOut
from kaiku.responses.actions import clean_comment
from kaiku.responses.models import MAX_COMMENT_LENGTH, Response
from kaiku.responses.outbox import queue_processing
from kaiku.surveys.models import Kind
from kaiku.webhooks.events import emit_response_event

MAX_TAGS = 20
MAX_TAG_LENGTH = 50
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
Group = Literal["promoter", "passive", "detractor"]


class ResponsePage(Schema):
    data: list[ResponseOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class ResponseFilters(Schema):
    survey: int | None = Field(None, description="Only this survey's answers.")
    since: AwareDatetime | None = Field(None, description="Answered at or after this time.")
    until: AwareDatetime | None = Field(None, description="Answered before this time.")
    group: Group | None = Field(
        None,
        description="NPS group: promoter 9–10, passive 7–8, detractor 0–6. For CSAT and CES, "
        "the respondent pages' high, middle and low groups.",
    )
    channel: Literal["email", "link", "widget", "kiosk", "api", "import"] | None = None
    updated_since: AwareDatetime | None = Field(
        None,
        description="Answers created or changed at or after this time; the list is then "
        "sorted by updated_at, so a sync loop never misses a change.",
    )
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(None, description="next_cursor from the previous page")


def group_condition(group: str) -> Q:
    """Score groups in SQL, per survey kind (kaiku.responses.pages.score_group).

    Each answer carries its scale (scale_min, scale_max), so CSAT and CES groups
    follow the scale the answer was given on. `twice` is 2 × score, which keeps
    the midpoint comparison (score vs (min + max) / 2) in integers.
    """
    middle = F("scale_min") + F("scale_max")
    nps = Q(survey__kind=Kind.NPS)
    csat = Q(survey__kind=Kind.CSAT)
    ces = Q(survey__kind=Kind.CES)
    if group == "promoter":
        return (
            (nps & Q(score__gte=9))
            | (csat & Q(score__gte=F("scale_max") - 1))
            | (ces & Q(twice_score__gt=middle))
        )
    if group == "detractor":
        low = Q(twice_score__lt=middle)
        return (nps & Q(score__lte=6)) | ((csat | ces) & low)
    return ~group_condition("promoter") & ~group_condition("detractor")


def filter_responses(
    workspace: Workspace,
    filters: ResponseFilters,
    properties: list[tuple[str, str]],
) -> tuple[QuerySet[Response], list[str]]:
    """The filtered answers and the ordering to page them in."""
    answers = responses_for_workspace(workspace)
    if filters.survey is not None:
        survey = get_survey_for_workspace(workspace, filters.survey, field="survey")
        answers = answers.filter(survey=survey)
    if filters.since is not None:
        answers = answers.filter(created_at__gte=_utc(filters.since))
    if filters.until is not None:
        answers = answers.filter(created_at__lt=_utc(filters.until))
    if filters.channel is not None:
        answers = answers.filter(channel=filters.channel)
    if filters.group is not None:
        answers = answers.alias(twice_score=F("score") * 2).filter(group_condition(filters.group))
    answers = filter_properties(answers, "properties", properties)
    if filters.updated_since is not None:
        # (workspace, updated_at) index: response_workspace_updated.
        return answers.filter(updated_at__gte=_utc(filters.updated_since)), ["updated_at", "id"]
    # (workspace, created_at) index: response_workspace_time.
    return answers, ["created_at", "id"]


# --- PATCH ----------------------------------------------------------------------------------


def _invalid(message: str) -> PydanticCustomError:
    return PydanticCustomError("invalid", message)


class ResponsePatch(Schema):
    """The team's edits: omit a field to keep it; `tags` replaces the whole list."""

    comment: str | None = Field(None, max_length=MAX_COMMENT_LENGTH)
    tags: list[str] | None = Field(
        None, description=f"At most {MAX_TAGS} tags of 1 to {MAX_TAG_LENGTH} characters."
    )
    notes: str | None = Field(None, max_length=MAX_COMMENT_LENGTH)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if len(value) > MAX_TAGS:
            raise _invalid(f"At most {MAX_TAGS} tags.")
        tags: list[str] = []
        for raw in value:
            tag = " ".join(_CONTROL.sub(" ", raw).split())
            if not tag or len(tag) > MAX_TAG_LENGTH:
                raise _invalid(f"Each tag is 1 to {MAX_TAG_LENGTH} characters.")
            if tag not in tags:  # duplicates collapse; order is kept
                tags.append(tag)
        return tags

    @field_validator("notes")
    @classmethod
    def _notes(cls, value: str | None) -> str | None:
        return None if value is None else clean_comment(value)

    @field_validator("comment")
    @classmethod
    def _comment(cls, value: str | None) -> str | None:
        return None if value is None else clean_comment(value)

    @model_validator(mode="after")
    def _something(self) -> ResponsePatch:
        if not {"comment", "tags", "notes"} & self.model_fields_set:
            raise _invalid("Send at least one of comment, tags and notes.")
        return self


def update_response(response: Response, patch: ResponsePatch) -> Response:
    """Apply the team's edits; a changed answer sends `response.updated` (and a changed
    comment is re-examined by process_response). Nothing changed: nothing written."""
    changes = patch.model_dump(exclude_unset=True, exclude_none=True)
    with transaction.atomic(durable=True):
        # of=("self",): PostgreSQL cannot lock the nullable side of the contact join.
        locked = (
            Response.objects.select_for_update(of=("self",))
            .select_related("contact")
            .get(pk=response.pk)
        )
        changed = [name for name, value in changes.items() if getattr(locked, name) != value]
        if not changed:
            return locked
        for name in changed:
            setattr(locked, name, changes[name])
        # A conditional update of these fields only: save() would also rewrite
        # the score, which a respondent may be changing right now.
        locked.updated_at = timezone.now()
        Response.objects.filter(pk=locked.pk).update(
            updated_at=locked.updated_at, **{name: changes[name] for name in changed}
        )
        emit_response_event(locked, created=False)
        if "comment" in changed:
            queue_processing(locked.pk)
    return locked


def _utc(moment: datetime) -> datetime:
    # PostgreSQL refuses offsets beyond ±15:59 that Python (and ISO 8601) allow: query in UTC.
    return moment.astimezone(UTC)
