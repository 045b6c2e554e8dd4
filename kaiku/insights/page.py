"""Reading a dashboard request: access, the filter from the query string, page options."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib import messages
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from kaiku.accounts.access import get_membership, get_survey_for_member
from kaiku.accounts.models import Membership
from kaiku.insights.dashboard import SUGGESTED_PROPERTIES, Options
from kaiku.insights.privacy import IDENTIFYING
from kaiku.insights.queries.buckets import PERIODS
from kaiku.insights.queries.filters import (
    PROPERTY_KEY,
    TENURE_KEY,
    FilterError,
    ResponseFilter,
    default_filter,
)
from kaiku.insights.queries.grouped import Scope
from kaiku.responses.models import Response
from kaiku.surveys.models import Survey

PROPERTY_SAMPLE = 1000  # recent answers whose property names and values the filters offer
MAX_VALUES_OFFERED = 30


@dataclass
class Page:
    membership: Membership
    survey: Survey
    scope: Scope
    flt: ResponseFilter
    options: Options
    today: date
    properties: dict[str, list[str]]

    @property
    def workspace(self) -> Any:
        return self.membership.workspace

    def query(self, **extra: Any) -> str:
        base = {"period": self.options.period, "by": self.options.by}
        return self.flt.to_query(**{**base, **extra})


def today_in(zone: Any) -> date:
    return timezone.now().astimezone(zone).date()


def read_page(request: HttpRequest, workspace_slug: str, survey_id: int) -> Page:
    """Access first (404 for outsiders), then the filter: a bad value is reported and ignored."""
    membership = get_membership(request, workspace_slug)
    survey = get_survey_for_member(membership, survey_id)
    survey.workspace = membership.workspace  # the same row: spare a query
    today = today_in(membership.workspace.tzinfo)
    try:
        flt = ResponseFilter.from_query(request.GET, today)
    except FilterError as exc:
        messages.error(request, _("Filter ignored: %(message)s") % {"message": exc.message})
        flt = default_filter(today)
    properties = property_values(survey)
    return Page(
        membership=membership,
        survey=survey,
        scope=Scope.of(survey),
        flt=flt,
        options=read_options(request, properties),
        today=today,
        properties=properties,
    )


def read_options(request: HttpRequest, properties: dict[str, list[str]]) -> Options:
    period = request.GET.get("period") or "month"
    if period not in PERIODS:
        period = "month"
    by = request.GET.get("by") or ""
    if by and not PROPERTY_KEY.match(by) and by not in ("channel", "language"):
        by = ""
    if not by:
        by = next((p for p in SUGGESTED_PROPERTIES if p in properties), "")
    return Options(period=period, by=by)


def property_values(survey: Survey) -> dict[str, list[str]]:
    """Property names and values seen in the survey's most recent answers, for the filters.

    A sample (one indexed query, PROPERTY_SAMPLE rows) rather than a scan of every answer: it
    only decides what the menus offer; any value can still be typed into the URL.
    """
    seen: dict[str, dict[str, None]] = {}
    recent = (
        Response.objects.filter(survey=survey)
        .order_by("-created_at")
        .values_list("properties", flat=True)[:PROPERTY_SAMPLE]
    )
    for properties in recent:
        if not isinstance(properties, dict):
            continue
        for key, value in properties.items():
            if value is None or not PROPERTY_KEY.match(str(key)) or key in IDENTIFYING:
                continue
            values = seen.setdefault(str(key), {})
            if len(values) < MAX_VALUES_OFFERED:
                values[_text(value)] = None
    offered = {key: sorted(values) for key, values in sorted(seen.items())}
    if "customer_since" in offered:
        offered[TENURE_KEY] = ["new", "3-12m", "1-2y", "2y+"]
        offered.pop("customer_since")
    for key in ("churned_at",):
        offered.pop(key, None)
    return offered


def _text(value: Any) -> str:
    # As the database renders a JSON scalar as text (booleans as true/false).
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
