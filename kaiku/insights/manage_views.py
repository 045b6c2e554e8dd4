"""Goals and shared links: created and removed by owners and admins (POST only)."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kaiku.accounts.access import get_membership, get_survey_for_member
from kaiku.accounts.models import Membership
from kaiku.insights.dashboard import build_dashboard
from kaiku.insights.dashboard_views import dashboard_context
from kaiku.insights.funnel import funnel
from kaiku.insights.models import DashboardShare, Goal, hash_token
from kaiku.insights.page import read_page
from kaiku.surveys.models import Survey

MAX_SHARE_DAYS = 90


def _manager_survey(
    request: HttpRequest, workspace_slug: str, survey_id: int
) -> tuple[Membership, Survey]:
    """Outsiders 404 first; then the method; then the role (403 for agents and viewers)."""
    membership = get_membership(request, workspace_slug)
    survey = get_survey_for_member(membership, survey_id)
    if request.method != "POST":
        raise _NotPost
    if not membership.can_manage:
        raise PermissionDenied
    return membership, survey


class _NotPost(Exception):
    pass


def _post_only(view):  # type: ignore[no-untyped-def]
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except _NotPost:
            return HttpResponseNotAllowed(["POST"])

    wrapper.__name__ = view.__name__
    return login_required(wrapper)


def _back(workspace_slug: str, survey_id: int, anchor: str) -> HttpResponse:
    url = reverse(
        "insights:dashboard", kwargs={"workspace_slug": workspace_slug, "survey_id": survey_id}
    )
    return redirect(f"{url}#{anchor}")


@_post_only
def goal_create(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    membership, survey = _manager_survey(request, workspace_slug, survey_id)
    prop, _sep, value = (request.POST.get("segment") or "").partition(":")
    try:
        goal = Goal(
            workspace=membership.workspace,
            survey=survey,
            metric=survey.kind,
            target=float(request.POST.get("target", "")),
            segment_property=prop,
            segment_value=value,
            period_start=date.fromisoformat(request.POST.get("period_start", "")),
            period_end=date.fromisoformat(request.POST.get("period_end", "")),
            created_by=membership.user,
        )
        goal.full_clean()
    except (ValueError, ValidationError) as exc:
        detail = "; ".join(exc.messages) if isinstance(exc, ValidationError) else ""
        messages.error(request, _("The goal was not saved. %(detail)s") % {"detail": detail})
        return _back(workspace_slug, survey_id, "goals")
    goal.save()
    messages.success(request, _("Goal added."))
    return _back(workspace_slug, survey_id, "goals")


@_post_only
def goal_delete(
    request: HttpRequest, workspace_slug: str, survey_id: int, goal_id: int
) -> HttpResponse:
    _membership, survey = _manager_survey(request, workspace_slug, survey_id)
    get_object_or_404(Goal, survey=survey, pk=goal_id).delete()
    messages.success(request, _("Goal deleted."))
    return _back(workspace_slug, survey_id, "goals")


@login_required
def share_create(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    """Create a link with the current filters; the token is shown on this response only."""
    try:
        membership, survey = _manager_survey(request, workspace_slug, survey_id)
    except _NotPost:
        return HttpResponseNotAllowed(["POST"])
    page = read_page(request, workspace_slug, survey_id)
    try:
        days = min(MAX_SHARE_DAYS, max(1, int(request.POST.get("days", "14"))))
    except ValueError:
        days = 14
    token = DashboardShare.new_token()
    DashboardShare.objects.create(
        workspace=membership.workspace,
        survey=survey,
        token_hash=hash_token(token),
        filters={**page.flt.to_dict(), "period": page.options.period, "by": page.options.by},
        expires_at=timezone.now() + timedelta(days=days),
        created_by=membership.user,
    )
    url = settings.SITE_URL + reverse("shared_dashboard", kwargs={"token": token})
    board = build_dashboard(
        page.scope, page.flt, page.options, list(Goal.objects.filter(survey=survey))
    )
    by_channel = {row["value"]: [row["n"]] for row in board.segments[0].rows}
    context = dashboard_context(
        page,
        board,
        funnel=funnel(page.scope, page.flt, by_channel),
        shares=list(DashboardShare.objects.filter(survey=survey, revoked_at__isnull=True)[:10]),
        new_share_url=url,
    )
    return render(request, "insights/dashboard.html", context)


@_post_only
def share_revoke(
    request: HttpRequest, workspace_slug: str, survey_id: int, share_id: int
) -> HttpResponse:
    _membership, survey = _manager_survey(request, workspace_slug, survey_id)
    DashboardShare.objects.filter(survey=survey, pk=share_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    messages.success(request, _("The link no longer works."))
    return _back(workspace_slug, survey_id, "sharing")
