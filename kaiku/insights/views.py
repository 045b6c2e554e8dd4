"""The first screen: where a logged-in user lands, and each workspace's surveys."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from kaiku.accounts.access import get_membership
from kaiku.accounts.models import Membership, User
from kaiku.insights.overview import survey_overview


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """One workspace: go there. Several: choose. None: say what to do next."""
    assert isinstance(request.user, User)  # login_required let only users in
    memberships = list(
        Membership.objects.filter(user=request.user)
        .select_related("workspace")
        .order_by("workspace__name", "workspace_id")
    )
    if len(memberships) == 1:
        return redirect("insights:survey_list", workspace_slug=memberships[0].workspace.slug)
    template = "insights/home_choose.html" if memberships else "insights/home_empty.html"
    return render(request, template, {"memberships": memberships})


@login_required
def survey_list(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    membership = get_membership(request, workspace_slug)
    combine = [int(v) for v in request.GET.getlist("combine") if v.isdigit()][:50]
    overview = survey_overview(membership.workspace, timezone.now(), combine)
    return render(
        request,
        "insights/survey_list.html",
        {
            "workspace": membership.workspace,
            "membership": membership,
            "overview": overview,
        },
    )
