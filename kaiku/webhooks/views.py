"""The webhooks pages (owners and admins): endpoints, their delivery log, tests, re-enabling.

Every view checks access first and the method second: an outsider gets the
same 404 whatever the method, never a 405 that confirms the endpoint exists.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from kaiku.accounts.access import get_manager_membership
from kaiku.accounts.models import Membership, User
from kaiku.webhooks import actions
from kaiku.webhooks.access import get_delivery_for_manager, get_endpoint_for_manager
from kaiku.webhooks.forms import EndpointForm
from kaiku.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

LOG_PAGE = 50


def _list_page(
    request: HttpRequest,
    membership: Membership,
    form: EndpointForm,
    created: tuple[WebhookEndpoint, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    workspace = membership.workspace
    context = {
        "workspace": workspace,
        "endpoints": WebhookEndpoint.objects.filter(workspace=workspace),
        "form": form,
        "created": created[0] if created else None,
        "secret": created[1] if created else None,
    }
    return render(request, "webhooks/endpoints.html", context, status=status)


@login_required
@never_cache
def endpoints(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    if request.method == "GET":
        return _list_page(request, membership, EndpointForm())
    form = EndpointForm(request.POST)
    if not form.is_valid():
        return _list_page(request, membership, form, status=400)
    endpoint, secret = actions.create_endpoint(
        membership.workspace, **form.cleaned_data, created_by=_user(request)
    )
    # Rendered from the POST, not stored for a redirect: the secret never
    # touches the session table, and never_cache keeps it out of caches.
    return _list_page(request, membership, EndpointForm(), (endpoint, secret))


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _log(endpoint: WebhookEndpoint, before: str | None) -> tuple[list[WebhookDelivery], int | None]:
    """One page of the delivery log, newest first; and the id to page on from, if any."""
    deliveries = (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .select_related("event")
        .prefetch_related(
            Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("number"))
        )
        .order_by("-id")
    )
    if before and before.isdigit():
        deliveries = deliveries.filter(id__lt=int(before))
    rows = list(deliveries[: LOG_PAGE + 1])
    more = len(rows) > LOG_PAGE
    rows = rows[:LOG_PAGE]
    return rows, (rows[-1].pk if more and rows else None)


def _detail_page(
    request: HttpRequest,
    membership: Membership,
    endpoint: WebhookEndpoint,
    form: EndpointForm,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    deliveries, older = _log(endpoint, request.GET.get("before"))
    context = {
        "workspace": membership.workspace,
        "endpoint": endpoint,
        "form": form,
        "deliveries": deliveries,
        "older": older,
        "paged": bool(request.GET.get("before")),
        **(extra or {}),
    }
    return render(request, "webhooks/endpoint.html", context, status=status)


def _edit_form(endpoint: WebhookEndpoint, data: Any = None) -> EndpointForm:
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "events": endpoint.events,
        "payload_format": endpoint.payload_format,
    }
    return EndpointForm(data, initial=initial, current_url=endpoint.url)


@login_required
@never_cache
def detail(request: HttpRequest, workspace_slug: str, webhookendpoint_id: int) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    endpoint = get_endpoint_for_manager(membership, webhookendpoint_id)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    if request.method == "GET":
        return _detail_page(request, membership, endpoint, _edit_form(endpoint))
    form = _edit_form(endpoint, request.POST)
    if not form.is_valid():
        return _detail_page(request, membership, endpoint, form, status=400)
    actions.update_endpoint(endpoint, **form.cleaned_data)
    messages.success(request, _("The webhook is saved."))
    return redirect(endpoint_url(workspace_slug, endpoint))


def endpoint_url(workspace_slug: str, endpoint: WebhookEndpoint) -> str:
    return reverse(
        "webhooks:detail",
        kwargs={"workspace_slug": workspace_slug, "webhookendpoint_id": endpoint.pk},
    )


def _post_only(request: HttpRequest) -> HttpResponse | None:
    return None if request.method == "POST" else HttpResponseNotAllowed(["POST"])


@login_required
def send_test(request: HttpRequest, workspace_slug: str, webhookendpoint_id: int) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    endpoint = get_endpoint_for_manager(membership, webhookendpoint_id)
    if refused := _post_only(request):
        return refused
    if not endpoint.is_active:
        messages.error(request, _("Re-enable the webhook before sending a test event."))
    else:
        actions.send_test_event(endpoint)
        messages.success(request, _("A test event is on its way; see the delivery log below."))
    return redirect(endpoint_url(workspace_slug, endpoint))


@login_required
def enable(request: HttpRequest, workspace_slug: str, webhookendpoint_id: int) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    endpoint = get_endpoint_for_manager(membership, webhookendpoint_id)
    if refused := _post_only(request):
        return refused
    if actions.enable_endpoint(endpoint):
        messages.success(request, _("The webhook is enabled again."))
    return redirect(endpoint_url(workspace_slug, endpoint))


@login_required
@never_cache
def roll(request: HttpRequest, workspace_slug: str, webhookendpoint_id: int) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    endpoint = get_endpoint_for_manager(membership, webhookendpoint_id)
    if refused := _post_only(request):
        return refused
    secret = actions.roll_secret(endpoint)
    return _detail_page(request, membership, endpoint, _edit_form(endpoint), {"secret": secret})


@login_required
def delete(request: HttpRequest, workspace_slug: str, webhookendpoint_id: int) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    endpoint = get_endpoint_for_manager(membership, webhookendpoint_id)
    if refused := _post_only(request):
        return refused
    actions.delete_endpoint(endpoint)
    messages.success(request, _("The webhook is deleted."))
    return redirect("webhooks:list", workspace_slug=workspace_slug)


@login_required
def redeliver_view(
    request: HttpRequest, workspace_slug: str, webhookendpoint_id: int, webhookdelivery_id: int
) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    endpoint = get_endpoint_for_manager(membership, webhookendpoint_id)
    delivery = get_delivery_for_manager(membership, endpoint, webhookdelivery_id)
    if refused := _post_only(request):
        return refused
    if actions.redeliver(delivery):
        messages.success(request, _("The event will be delivered again."))
    return redirect(endpoint_url(workspace_slug, endpoint))
