"""Follow-up cases: list, read, and change status, assignee or resolution category.

GET   /api/v1/cases              list, newest first, cursor pages, filters
GET   /api/v1/cases/{id}         one case
PATCH /api/v1/cases/{id}         status / assignee / category (read_write key)
GET   /api/v1/cases/categories   the workspace's root causes / resolutions

Changes go through kaiku.loop.actions like the pages' (recorded on the case's
timeline as made "via API"; webhooks get case.updated).
"""

from __future__ import annotations

from typing import Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from kaiku.accounts.models import User, Workspace
from kaiku.api.auth import request_workspace
from kaiku.api.errors import ApiError
from kaiku.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, paginate
from kaiku.api.schemas import READ_ERRORS, WRITE_ERRORS
from kaiku.loop import actions
from kaiku.loop.categories import categories
from kaiku.loop.errors import CaseError, InvalidTransition
from kaiku.loop.filters import CaseFilter
from kaiku.loop.models import DONE_STATUSES, Case, CaseStatus, ResolutionCategory
from kaiku.loop.schemas import CaseOut, CategoryOut, StatusName

router = Router(tags=["cases"])
VIA = "api"


class CasePage(Schema):
    data: list[CaseOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


class CasePatch(Schema):
    status: StatusName | None = Field(
        None,
        description="resolved needs a category; open on a resolved or closed case reopens it.",
    )
    assignee: str | None = Field(
        None,
        max_length=254,
        description="The email of an owner, admin or agent; null unassigns.",
    )
    category: int | None = Field(
        None, description="A resolution category id (with status resolved, or to correct one)."
    )


class CategoryListOut(Schema):
    data: list[CategoryOut]


def cases_for_workspace(workspace: Workspace) -> QuerySet[Case]:
    return Case.objects.filter(workspace=workspace).select_related(
        "contact", "assignee", "category"
    )


def get_case_for_workspace(workspace: Workspace, case_id: int) -> Case:
    case = cases_for_workspace(workspace).filter(pk=case_id).first()
    if case is None:
        raise ApiError(404, _("No such case."))
    return case


@router.get(
    "",
    response={200: CasePage, **READ_ERRORS},
    summary="List cases",
    operation_id="list_cases",
)
def list_cases(
    request: HttpRequest,
    status: Literal[
        "active", "open", "in_progress", "waiting", "resolved", "closed", "all"
    ] = Query("all", description="active = open, in progress or waiting."),
    assignee: str | None = Query(None, description="A member's email, or `none`."),
    survey: int | None = Query(None, description="Only this survey's cases."),
    overdue: bool = Query(False, description="Only active cases past their due time."),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, description="next_cursor from the previous page"),
) -> Page[Case]:
    """The workspace's cases, newest first."""
    workspace = request_workspace(request)
    flt = CaseFilter(status=status, survey=survey, overdue=overdue)
    rows = flt.apply(cases_for_workspace(workspace), None, timezone.now())
    if assignee == "none":
        rows = rows.filter(assignee__isnull=True)
    elif assignee:
        rows = rows.filter(assignee__email__iexact=assignee.strip())
    return paginate(rows, ordering=["-created_at", "-id"], cursor=cursor, limit=limit)


@router.get(
    "/categories",
    response={200: CategoryListOut, **READ_ERRORS},
    summary="List resolution categories",
    operation_id="list_case_categories",
)
def list_categories(request: HttpRequest) -> dict[str, list[dict[str, object]]]:
    """The root causes / resolutions a case can be resolved with (active ones), in order."""
    rows = categories(request_workspace(request), active_only=True)
    return {"data": [{"id": c.pk, "key": c.key, "name": str(c.label)} for c in rows]}


@router.get(
    "/{int:case_id}",
    response={200: CaseOut, **READ_ERRORS},
    summary="Get a case",
    operation_id="get_case",
)
def get_case(request: HttpRequest, case_id: int) -> Case:
    return get_case_for_workspace(request_workspace(request), case_id)


@router.patch(
    "/{int:case_id}",
    response={200: CaseOut, **WRITE_ERRORS},
    summary="Change a case",
    operation_id="update_case",
)
def update_case(request: HttpRequest, case_id: int, payload: CasePatch) -> Case:
    """Change the assignee, the status and/or the category; fields left out stay as they are.

    Invalid moves (e.g. open → resolved without a category, closed → waiting)
    answer 409 with the reason; unknown members or categories 422.
    """
    workspace = request_workspace(request)
    case = get_case_for_workspace(workspace, case_id)
    given = payload.model_fields_set
    try:
        if "assignee" in given:
            case = actions.assign(case, _member(workspace, payload.assignee), actor=None, via=VIA)
        category = _category(workspace, payload.category) if "category" in given else None
        case = _apply_status(case, payload.status, category)
    except InvalidTransition as exc:
        raise ApiError(409, str(exc.message), field="status") from None
    except CaseError as exc:
        raise ApiError(422, str(exc.message), field=exc.field) from None
    return get_case_for_workspace(workspace, case.pk)


def _apply_status(case: Case, status: str | None, category: ResolutionCategory | None) -> Case:
    if status == CaseStatus.RESOLVED and case.status not in DONE_STATUSES:
        if category is None:
            raise InvalidTransition("Resolving a case needs a category.")
        return actions.resolve(case, category, actor=None, via=VIA)
    if status == CaseStatus.OPEN and case.status in DONE_STATUSES:
        case = actions.reopen(case, actor=None, via=VIA)
    elif status is not None and status != case.status:
        case = actions.change_status(case, status, actor=None, via=VIA)
    if category is not None:
        case = actions.set_category(case, category, actor=None, via=VIA)
    return case


def _member(workspace: Workspace, email: str | None) -> User | None:
    if email is None:
        return None
    user = User.objects.filter(
        memberships__workspace=workspace, email__iexact=email.strip(), is_active=True
    ).first()
    if user is None:
        raise ApiError(422, _("No member of this workspace has that email."), field="assignee")
    return user


def _category(workspace: Workspace, category_id: int | None) -> ResolutionCategory | None:
    if category_id is None:
        return None
    category = categories(workspace).filter(pk=category_id).first()
    if category is None:
        raise ApiError(422, _("No such category."), field="category")
    return category
