"""`/api/v1/responses`: record answers from other systems and read them back."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Status

from kaiku.api.access import get_response_for_workspace, get_survey_for_workspace
from kaiku.api.actions import submit_response
from kaiku.api.auth import request_workspace
from kaiku.api.idempotency import IdempotencyKeyHeader, resolve_idempotency_key
from kaiku.api.pagination import Page, paginate
from kaiku.api.routes.contacts import property_filters
from kaiku.api.routes.responses_list import (
    ResponseFilters,
    ResponsePage,
    ResponsePatch,
    filter_responses,
    update_response,
)
from kaiku.api.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    ErrorOut,
    ResponseIn,
    ResponseOut,
)
from kaiku.responses.models import Response

router = Router(tags=["responses"])


@router.post(
    "",
    response={200: ResponseOut, 201: ResponseOut, **WRITE_ERRORS},
    summary="Record a response",
    operation_id="create_response",
)
def create_response(
    request: HttpRequest,
    payload: ResponseIn,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Status[ResponseOut]:
    """Record an answer; 201 when stored, 200 when an idempotent retry found it.

    Needs a read_write key. The contact is found by external_id, else email,
    and created or updated with the given name, language and properties.
    """
    key = resolve_idempotency_key(payload.idempotency_key, idempotency_key)
    survey = get_survey_for_workspace(request_workspace(request), payload.survey, field="survey")
    recorded = submit_response(
        survey,
        score=payload.score,
        comment=payload.comment,
        contact=payload.contact.model_dump(exclude_none=True) if payload.contact else None,
        language=payload.language,
        properties=payload.properties,
        created_at=payload.created_at,
        idempotency_key=key,
    )
    # A ResponseOut, not the model: ninja then dumps it as it is instead of
    # validating it again through its own wrapper (the busiest route).
    answer = ResponseOut.model_validate(recorded.response)
    return Status(201 if recorded.created else 200, answer)


@router.get(
    "",
    response={200: ResponsePage, **READ_ERRORS, 422: ErrorOut},
    summary="List responses",
    operation_id="list_responses",
)
def list_responses(request: HttpRequest, filters: Query[ResponseFilters]) -> Page[Response]:
    """Oldest first (by `created_at`, or by `updated_at` with `updated_since`).

    Filters: `survey`, `since`/`until`, `group`, `channel`, `updated_since` and any
    number of `property[name]=value` (the answer's properties, text, case-insensitive).
    """
    answers, ordering = filter_responses(
        request_workspace(request), filters, property_filters(request)
    )
    return paginate(answers, ordering=ordering, cursor=filters.cursor, limit=filters.limit)


@router.patch(
    "/{int:response_id}",
    response={200: ResponseOut, **WRITE_ERRORS},
    summary="Edit a response's comment, tags or notes",
    operation_id="update_response",
)
def patch_response(request: HttpRequest, response_id: int, payload: ResponsePatch) -> Response:
    """Omitted fields are kept; `tags` replaces the list. Sends `response.updated`."""
    response = get_response_for_workspace(request_workspace(request), response_id)
    return update_response(response, payload)


@router.get(
    "/{int:response_id}",
    response={200: ResponseOut, **READ_ERRORS},
    summary="Get a response",
    operation_id="get_response",
)
def get_response(request: HttpRequest, response_id: int) -> Response:
    return get_response_for_workspace(request_workspace(request), response_id)
