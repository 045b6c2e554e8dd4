"""The Themes pages of a survey: impact table, passives, drill-down, discovery, taxonomy.

Every view starts with the access helpers (outsiders 404, before anything else),
then checks the method, parses the input, calls one action or query, renders.
Taxonomy changes need an owner or admin (others 403); agents may tag answers.
"""

from __future__ import annotations

import csv
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kaiku.accounts.access import get_manager_membership, get_membership, get_survey_for_member
from kaiku.accounts.models import MANAGER_ROLES, Membership
from kaiku.metrics import nps_stats
from kaiku.responses.models import Response
from kaiku.surveys.models import Survey
from kaiku.themes import actions
from kaiku.themes.discovery import discover
from kaiku.themes.models import ResponseTheme, Theme
from kaiku.themes.queries import (
    Period,
    comment_languages,
    parse_period,
    theme_answers,
    theme_trend,
)
from kaiku.themes.report import theme_dict, themes_report

PAGE_SIZE = 25
GROUPS = ("detractor", "passive", "promoter")


# --- access ------------------------------------------------------------------------------


def get_theme_for_member(membership: Membership, theme_id: int) -> Theme:
    theme = Theme.objects.filter(workspace_id=membership.workspace_id, pk=theme_id).first()
    if theme is None:
        raise Http404
    return theme


def get_response_for_member(membership: Membership, survey: Survey, response_id: int) -> Response:
    response = Response.objects.filter(
        workspace_id=membership.workspace_id, survey=survey, pk=response_id
    ).first()
    if response is None:
        raise Http404
    return response


def _period(request: HttpRequest, membership: Membership) -> Period:
    zone = membership.workspace.tzinfo
    return parse_period(
        request.GET.get("from"), request.GET.get("to"), zone, timezone.now().astimezone(zone).date()
    )


def _query(period: Period, **extra: str) -> str:
    return urlencode({"from": period.start.isoformat(), "to": period.end.isoformat(), **extra})


def _context(
    request: HttpRequest, membership: Membership, survey: Survey, period: Period, tab: str
) -> dict[str, Any]:
    return {
        "workspace": membership.workspace,
        "membership": membership,
        "survey": survey,
        "period": period,
        "period_query": _query(period),
        "tab": tab,
        "can_edit": membership.role in MANAGER_ROLES,
        "can_tag": membership.role in actions.TAGGER_ROLES,
    }


def _back(request: HttpRequest, fallback: str) -> HttpResponseRedirect:
    """Back to where the form was, if that is one of our pages; else to `fallback`."""
    target = request.POST.get("next", "")
    if not target.startswith("/w/") or "//" in target:
        target = fallback
    return HttpResponseRedirect(target)


def _error(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


# --- pages -------------------------------------------------------------------------------


@login_required
def impact(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    membership = get_membership(request, workspace_slug)
    survey = get_survey_for_member(membership, survey_id)
    actions.ensure_starter_taxonomy(membership.workspace)
    period = _period(request, membership)
    report = themes_report(survey, period)
    context = _context(request, membership, survey, period, "impact")
    context["report"] = report
    return render(request, "themes/impact.html", context)


@login_required
def passives(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    membership = get_membership(request, workspace_slug)
    survey = get_survey_for_member(membership, survey_id)
    period = _period(request, membership)
    report = themes_report(survey, period)
    context = _context(request, membership, survey, period, "passives")
    context["report"] = report
    return render(request, "themes/passives.html", context)


@login_required
def export_csv(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    membership = get_membership(request, workspace_slug)
    survey = get_survey_for_member(membership, survey_id)
    period = _period(request, membership)
    report = themes_report(survey, period)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"themes-survey-{survey.pk}-{period.start}-{period.end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    columns = [
        "id",
        "key",
        "name",
        "mentions",
        "mention_pct",
        "share_of_detractors",
        "share_of_passives",
        "share_of_promoters",
        "nps_mentioners",
        "nps_mentioners_ci_low",
        "nps_mentioners_ci_high",
        "nps_rest",
        "nps_rest_ci_low",
        "nps_rest_ci_high",
        "delta",
        "p_value",
        "q_value",
        "significant",
        "impact",
        "impact_ci_low",
        "impact_ci_high",
        "points_at_stake",
    ]
    writer.writerow(columns)
    for row in report.rows:
        data = theme_dict(row)
        mentioners, rest = data["nps_mentioners"], data["nps_rest"]
        ci_m, ci_r, ci_i = mentioners["ci95"], rest["ci95"], data["impact_ci95"]
        flat = {
            **data,
            "name": _csv_safe(data["name"]),
            "nps_mentioners": mentioners["nps"],
            "nps_mentioners_ci_low": ci_m[0] if ci_m else None,
            "nps_mentioners_ci_high": ci_m[1] if ci_m else None,
            "nps_rest": rest["nps"],
            "nps_rest_ci_low": ci_r[0] if ci_r else None,
            "nps_rest_ci_high": ci_r[1] if ci_r else None,
            "impact_ci_low": ci_i[0] if ci_i else None,
            "impact_ci_high": ci_i[1] if ci_i else None,
        }
        writer.writerow(["" if flat[c] is None else flat[c] for c in columns])
    return response


def _csv_safe(text: str) -> str:
    # A theme name like "=HYPERLINK(…)" must not run as a formula in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


@login_required
def theme_detail(
    request: HttpRequest, workspace_slug: str, survey_id: int, theme_id: int
) -> HttpResponse:
    membership = get_membership(request, workspace_slug)
    survey = get_survey_for_member(membership, survey_id)
    theme = get_theme_for_member(membership, theme_id)
    period = _period(request, membership)
    group = request.GET.get("group")
    group = group if group in GROUPS else None
    answers = theme_answers(survey, theme, period, group).select_related("contact")
    page = Paginator(answers, PAGE_SIZE).get_page(request.GET.get("page"))
    links = {
        (link.response_id, link.theme_id): link
        for link in ResponseTheme.objects.filter(
            response_id__in=[a.pk for a in page.object_list]
        ).select_related("theme")
    }
    rows = [
        {
            "answer": answer,
            "themes": [
                link.theme
                for (rid, _tid), link in links.items()
                if rid == answer.pk and not link.removed and link.theme.is_active
            ],
            "manual": links.get((answer.pk, theme.pk)),
        }
        for answer in page.object_list
    ]
    trend = [
        {
            "month": point.month,
            "mentions": point.mentioners.n,
            "total": point.total.n,
            "share": 100.0 * point.mentioners.n / point.total.n if point.total.n else None,
            "nps": nps_stats(point.mentioners),
        }
        for point in theme_trend(survey, theme, period)
    ]
    context = _context(request, membership, survey, period, "impact")
    context.update(
        {
            "theme": theme,
            "page": page,
            "rows": rows,
            "group": group,
            "trend": trend,
            "group_query": _query(period, group=group) if group else _query(period),
            "all_themes": Theme.objects.filter(
                workspace_id=membership.workspace_id, is_active=True
            ),
        }
    )
    return render(request, "themes/theme.html", context)


@login_required
def discover_view(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    membership = get_membership(request, workspace_slug)
    survey = get_survey_for_member(membership, survey_id)
    period = _period(request, membership)
    languages = comment_languages(survey, period)
    options = sorted(languages, key=lambda code: (-languages[code], code))
    language = request.GET.get("language") or (options[0] if options else survey.default_language)
    if language not in membership.workspace.languages:
        language = survey.default_language
    context = _context(request, membership, survey, period, "discover")
    context.update(
        {
            "languages": [
                (code, languages.get(code, 0)) for code in membership.workspace.languages
            ],
            "language": language,
            "discovery": discover(survey, period, language),
            "themes": Theme.objects.filter(workspace_id=membership.workspace_id, is_active=True),
        }
    )
    return render(request, "themes/discover.html", context)


@login_required
def accept(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    survey = get_survey_for_member(membership, survey_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    language = request.POST.get("language", "")
    terms = actions.split_keywords(request.POST.get("terms", ""))
    try:
        theme = actions.accept_suggestion(membership, request.POST.get("name", ""), language, terms)
    except ValidationError as exc:
        _error(request, exc)
        return _back(request, _url("themes:discover", membership, survey))
    messages.success(
        request,
        _("Theme “%(name)s” created; comments are being re-themed.") % {"name": theme.label},
    )
    return HttpResponseRedirect(_url("themes:taxonomy", membership, survey))


@login_required
def taxonomy(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    membership = get_membership(request, workspace_slug)
    survey = get_survey_for_member(membership, survey_id)
    actions.ensure_starter_taxonomy(membership.workspace)
    period = _period(request, membership)
    themes = list(
        Theme.objects.filter(workspace_id=membership.workspace_id)
        .prefetch_related("keywords")
        .select_related("merged_into")
        .order_by("-is_active", "pk")
    )
    languages = list(membership.workspace.languages)
    for theme in themes:
        per_language: dict[str, list[str]] = {code: [] for code in languages}
        for keyword in theme.keywords.all():
            per_language.setdefault(keyword.language, []).append(keyword.phrase)
        theme.keyword_lists = [  # type: ignore[attr-defined]
            (code, "\n".join(phrases)) for code, phrases in per_language.items()
        ]
    context = _context(request, membership, survey, period, "taxonomy")
    context.update(
        {
            "themes": themes,
            "active_themes": [t for t in themes if t.is_active],
            "languages": languages,
        }
    )
    return render(request, "themes/taxonomy.html", context)


def _url(name: str, membership: Membership, survey: Survey, **kwargs: Any) -> str:
    return reverse(
        name,
        kwargs={"workspace_slug": membership.workspace.slug, "survey_id": survey.pk, **kwargs},
    )


@login_required
def theme_create(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    survey = get_survey_for_member(membership, survey_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    keywords = {
        code: actions.split_keywords(request.POST.get(f"keywords_{code}", ""))
        for code in membership.workspace.languages
    }
    try:
        actions.create_theme(membership, request.POST.get("name", ""), keywords)
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("Theme created; comments are being re-themed."))
    return HttpResponseRedirect(_url("themes:taxonomy", membership, survey))


@login_required
def theme_edit(
    request: HttpRequest, workspace_slug: str, survey_id: int, theme_id: int
) -> HttpResponse:
    """Rename, edit keywords, (de)activate, merge or split: one form action per button."""
    membership = get_manager_membership(request, workspace_slug)
    survey = get_survey_for_member(membership, survey_id)
    theme = get_theme_for_member(membership, theme_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    operation = request.POST.get("operation", "")
    try:
        _edit(request, membership, theme, operation)
    except ValidationError as exc:
        _error(request, exc)
    return HttpResponseRedirect(_url("themes:taxonomy", membership, survey))


def _edit(request: HttpRequest, membership: Membership, theme: Theme, operation: str) -> None:
    post = request.POST
    languages = membership.workspace.languages
    if operation == "rename":
        actions.rename_theme(membership, theme, post.get("name", ""))
        messages.success(request, _("Theme renamed."))
    elif operation == "keywords":
        for code in languages:
            if f"keywords_{code}" in post:
                actions.set_keywords(
                    membership, theme, code, actions.split_keywords(post[f"keywords_{code}"])
                )
        messages.success(request, _("Keywords saved; comments are being re-themed."))
    elif operation in ("deactivate", "activate"):
        actions.set_theme_active(membership, theme, operation == "activate")
        messages.success(request, _("Theme updated; comments are being re-themed."))
    elif operation == "merge":
        target = get_theme_for_member(membership, _int(post.get("target")))
        actions.merge_themes(membership, theme, target)
        messages.success(request, _("Themes merged; comments are being re-themed."))
    elif operation == "split":
        keywords = {
            code: actions.split_keywords(post.get(f"split_{code}", "")) for code in languages
        }
        actions.split_theme(membership, theme, post.get("name", ""), keywords)
        messages.success(request, _("Theme split; comments are being re-themed."))
    else:
        raise ValidationError(_("Unknown operation."))


def _int(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise Http404 from None


@login_required
def response_tag(
    request: HttpRequest, workspace_slug: str, survey_id: int, response_id: int
) -> HttpResponse:
    """Tag (add/remove) or reset a theme on one answer: owners, admins and agents."""
    membership = get_membership(request, workspace_slug)
    survey = get_survey_for_member(membership, survey_id)
    answer = get_response_for_member(membership, survey, response_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if membership.role not in actions.TAGGER_ROLES:
        raise PermissionDenied
    theme = get_theme_for_member(membership, _int(request.POST.get("theme")))
    operation = request.POST.get("operation")
    if operation == "reset":
        actions.clear_manual_tag(membership, answer, theme)
    elif operation in ("add", "remove"):
        actions.tag_response(membership, answer, theme, present=operation == "add")
    else:
        raise Http404
    return _back(request, _url("themes:impact", membership, survey))
