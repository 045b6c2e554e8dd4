"""`/api/v1/surveys`: the workspace's surveys (read only for now)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from kaiku.api.access import get_survey_for_workspace, surveys_for_workspace
from kaiku.api.auth import request_workspace
from kaiku.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, paginate
from kaiku.api.schemas import READ_ERRORS, SurveyOut, SurveyPage
from kaiku.surveys.models import Survey

router = Router(tags=["surveys"])


@router.get(
    "",
    response={200: SurveyPage, **READ_ERRORS},
    summary="List surveys",
    operation_id="list_surveys",
)
def list_surveys(
    request: HttpRequest,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, description="next_cursor from the previous page"),
) -> Page[Survey]:
    """The workspace's surveys, oldest first."""
    workspace = request_workspace(request)
    return paginate(surveys_for_workspace(workspace), ordering=["id"], cursor=cursor, limit=limit)


@router.get(
    "/{int:survey_id}",
    response={200: SurveyOut, **READ_ERRORS},
    summary="Get a survey",
    operation_id="get_survey",
)
def get_survey(request: HttpRequest, survey_id: int) -> Survey:
    return get_survey_for_workspace(request_workspace(request), survey_id)
