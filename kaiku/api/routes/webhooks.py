"""`/api/v1/webhooks`: the workspace's webhook endpoints (see docs/webhooks.md).

GET    /api/v1/webhooks          cursor pages, oldest first
POST   /api/v1/webhooks          create (read_write key); the answer holds the signing secret, once
GET    /api/v1/webhooks/{id}
DELETE /api/v1/webhooks/{id}     (read_write key) 204
"""

from __future__ import annotations

from typing import Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from kaiku.accounts.models import Workspace
from kaiku.api.auth import request_workspace
from kaiku.api.errors import ApiError
from kaiku.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, paginate
from kaiku.api.schemas import READ_ERRORS, WRITE_ERRORS, UtcDatetime
from kaiku.webhooks.actions import create_endpoint, delete_endpoint
from kaiku.webhooks.models import WebhookEndpoint
from kaiku.webhooks.netguard import UnsafeUrl

router = Router(tags=["webhooks"])

EventType = Literal[
    "response.created", "response.updated", "case.opened", "case.updated", "contact.unsubscribed"
]


class WebhookIn(Schema):
    url: str = Field(max_length=500, description="https:// (or http://), public address.")
    events: list[EventType] = Field(min_length=1, max_length=5)
    payload_format: Literal["kaiku", "delighted"] = "kaiku"
    description: str = Field("", max_length=200)


class WebhookOut(Schema):
    id: int
    url: str
    description: str
    events: list[str]
    payload_format: str
    is_active: bool = Field(description="False once disabled after repeated failures.")
    disabled_reason: str
    consecutive_failures: int
    created_at: UtcDatetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="The signing secret. Shown only in this answer.")


class WebhookPage(Schema):
    data: list[WebhookOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


def endpoints_for_workspace(workspace: Workspace) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(workspace=workspace)


def get_endpoint_for_workspace(workspace: Workspace, endpoint_id: int) -> WebhookEndpoint:
    endpoint = endpoints_for_workspace(workspace).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise ApiError(404, _("No such webhook."))
    return endpoint


@router.get(
    "",
    response={200: WebhookPage, **READ_ERRORS},
    summary="List webhooks",
    operation_id="list_webhooks",
)
def list_webhooks(
    request: HttpRequest,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = Query(None, description="next_cursor from the previous page"),
) -> Page[WebhookEndpoint]:
    endpoints = endpoints_for_workspace(request_workspace(request))
    return paginate(endpoints, ordering=["id"], cursor=cursor, limit=limit)


@router.post(
    "",
    response={201: WebhookCreatedOut, **WRITE_ERRORS},
    summary="Create a webhook",
    operation_id="create_webhook",
)
def create_webhook(request: HttpRequest, payload: WebhookIn) -> Status[WebhookEndpoint]:
    """The answer carries `secret`, the signing secret, once: store it in your receiver."""
    if len(set(payload.events)) != len(payload.events):
        raise ApiError(422, _("List each event once."), field="events")
    try:
        endpoint, _secret = create_endpoint(
            request_workspace(request),
            url=payload.url,
            events=list(payload.events),
            payload_format=payload.payload_format,
            description=payload.description,
        )
    except UnsafeUrl as exc:
        raise ApiError(422, exc.reason, field="url") from None
    return Status(201, endpoint)  # WebhookCreatedOut reads endpoint.secret (decrypted)


@router.get(
    "/{int:webhook_id}",
    response={200: WebhookOut, **READ_ERRORS},
    summary="Get a webhook",
    operation_id="get_webhook",
)
def get_webhook(request: HttpRequest, webhook_id: int) -> WebhookEndpoint:
    return get_endpoint_for_workspace(request_workspace(request), webhook_id)


@router.delete(
    "/{int:webhook_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Delete a webhook",
    operation_id="delete_webhook",
)
def delete_webhook(request: HttpRequest, webhook_id: int) -> Status[None]:
    """Deletes the endpoint and its delivery log; pending deliveries are dropped."""
    delete_endpoint(get_endpoint_for_workspace(request_workspace(request), webhook_id))
    return Status(204, None)
