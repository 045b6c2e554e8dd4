"""The API keys page: owners and admins create, list and revoke keys."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from kaiku.accounts.access import get_manager_membership
from kaiku.accounts.models import Membership
from kaiku.api.actions import create_api_key, revoke_api_key
from kaiku.api.forms import ApiKeyForm
from kaiku.api.models import ApiKey


def _page(
    request: HttpRequest,
    membership: Membership,
    form: ApiKeyForm,
    new_key: tuple[ApiKey, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    workspace = membership.workspace
    keys = ApiKey.objects.filter(workspace=workspace).select_related("created_by")
    context = {
        "workspace": workspace,
        "keys": keys,
        "form": form,
        "new_key": new_key[0] if new_key else None,
        "plaintext": new_key[1] if new_key else None,
    }
    return render(request, "api/api_keys.html", context, status=status)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    workspace = membership.workspace
    if request.method != "POST":
        return _page(request, membership, ApiKeyForm(time_zone=workspace.tzinfo))
    form = ApiKeyForm(request.POST, time_zone=workspace.tzinfo)
    if not form.is_valid():
        return _page(request, membership, form, status=400)
    key, plaintext = create_api_key(
        workspace,
        form.cleaned_data["name"],
        form.cleaned_data["scope"],
        form.expires_at(),
        request.user,  # type: ignore[arg-type]
    )
    # Rendered straight from the POST, not stored for a redirect: the plaintext
    # never touches the session table, and never_cache keeps it out of caches.
    return _page(request, membership, ApiKeyForm(time_zone=workspace.tzinfo), (key, plaintext))


@login_required
def revoke(request: HttpRequest, workspace_slug: str, key_id: int) -> HttpResponse:
    # Access first, method second: an outsider must get the same 404 whatever
    # the method, or a 405 would confirm the workspace and key exist.
    membership = get_manager_membership(request, workspace_slug)
    key = get_object_or_404(ApiKey, workspace=membership.workspace, pk=key_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if revoke_api_key(key):
        messages.success(request, _("The key “%(name)s” is revoked.") % {"name": key.name})
    return redirect("apikeys:list", workspace_slug=workspace_slug)
