"""Access helpers for API routes: every lookup is scoped to the key's workspace.

Another workspace's object answers 404, exactly like an id that does not exist,
so that a key cannot probe what other tenants have.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from kaiku.accounts.models import Workspace
from kaiku.api.errors import ApiError
from kaiku.responses.models import Response
from kaiku.surveys.models import Survey


def surveys_for_workspace(workspace: Workspace) -> QuerySet[Survey]:
    return Survey.objects.filter(workspace=workspace)


def get_survey_for_workspace(
    workspace: Workspace, survey_id: int, *, field: str | None = None
) -> Survey:
    """The survey, or 404; `field` names the input that held the id, if any."""
    survey = Survey.objects.in_workspace(workspace, survey_id)
    if survey is None:
        raise ApiError(404, _("No such survey."), field=field)
    return survey


def responses_for_workspace(workspace: Workspace) -> QuerySet[Response]:
    return Response.objects.filter(workspace=workspace).select_related("contact")


def get_response_for_workspace(workspace: Workspace, response_id: int) -> Response:
    response = responses_for_workspace(workspace).filter(pk=response_id).first()
    if response is None:
        raise ApiError(404, _("No such response."))
    return response
