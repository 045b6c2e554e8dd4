"""Reads of the Delighted-compatible API: lists with Delighted's paging, and metrics.

Two paging styles, as in Delighted: people and Autopilot memberships page by
cursor (`page_info`, with the next page's URL in a `Link: <…>; rel="next"`
header); survey responses, unsubscribes and bounces page by `page`/`per_page`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from kaiku.accounts.models import Workspace
from kaiku.delighted import shapes
from kaiku.delighted.access import contacts_for, responses_for, small_id, survey_for_trend
from kaiku.delighted.http import invalid
from kaiku.delighted.models import AutopilotMembership, Platform
from kaiku.delighted.parsing import as_int, as_list, as_text, as_time, unix
from kaiku.insights.queries import empty_histogram, score_histograms
from kaiku.metrics import nps_stats, round_half_up
from kaiku.surveys.models import Kind

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
# Delighted's metrics without since/until: the last 30 days.
DEFAULT_METRICS_WINDOW = timedelta(days=30)
ORDERS = {
    "asc": ("created_at", "id"),
    "desc": ("-created_at", "-id"),
    "asc:created_at": ("created_at", "id"),
    "desc:created_at": ("-created_at", "-id"),
    "asc:updated_at": ("updated_at", "id"),
    "desc:updated_at": ("-updated_at", "-id"),
}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_url: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Link": f'<{self.next_url}>; rel="next"'} if self.next_url else {}


def per_page(params: Mapping[str, Any]) -> int:
    # Delighted documents a maximum of 100; a larger value gets 100, not an error.
    return max(1, min(as_int(params, "per_page") or DEFAULT_PER_PAGE, MAX_PER_PAGE))


def page_slice(params: Mapping[str, Any]) -> slice:
    size = per_page(params)
    page = max(1, as_int(params, "page") or 1)
    return slice((page - 1) * size, page * size)


def _between(
    query: QuerySet[Any], field: str, params: Mapping[str, Any], prefix: str = ""
) -> QuerySet[Any]:
    """`since`/`until` (or `updated_since`/…): Unix seconds, both ends included."""
    since = as_time(params, f"{prefix}since")
    until = as_time(params, f"{prefix}until")
    if since is not None:
        query = query.filter(**{f"{field}__gte": since})
    if until is not None:
        # Stored times have microseconds; "on or before 12:00:00" includes 12:00:00.9.
        query = query.filter(**{f"{field}__lt": until + timedelta(seconds=1)})
    return query


# --- Cursor paging --------------------------------------------------------------------------


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(params: Mapping[str, Any]) -> int | None:
    raw = as_text(params, "page_info")
    if raw is None:
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid("page_info", "is invalid") from None
    kind, _, value = text.partition(":")
    last_id = small_id(value) if kind == "id" else None
    if last_id is None:
        raise invalid("page_info", "is invalid")
    return last_id


def next_url(request: HttpRequest, params: Mapping[str, Any], last_id: int) -> str:
    """This request's URL with the cursor moved on; the other filters are kept."""
    kept = [
        (name, value)
        for name in request.GET
        if name != "page_info"
        for value in request.GET.getlist(name)
    ]
    if "per_page" not in request.GET:
        kept.append(("per_page", str(per_page(params))))
    kept.append(("page_info", encode_cursor(last_id)))
    return request.build_absolute_uri(f"{request.path}?{urlencode(kept)}")


def list_people(workspace: Workspace, params: Mapping[str, Any], request: HttpRequest) -> Page:
    """GET /people: in creation order, filtered by since/until and email or phone_number."""
    email = as_text(params, "email")
    phone = as_text(params, "phone_number")
    if email is not None and phone is not None:
        raise invalid("email", "cannot be combined with phone_number")
    people = _between(contacts_for(workspace), "created_at", params)
    if email is not None:
        people = people.filter(email=email.lower())
    if phone is not None:
        people = people.filter(phone=phone)
    after = decode_cursor(params)
    if after is not None:
        people = people.filter(pk__gt=after)
    size = per_page(params)
    # id order is creation order, and the primary key index serves the cursor.
    rows = list(shapes.with_activity(people.order_by("id"))[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return Page(
        [shapes.person(row) for row in rows],
        next_url(request, params, rows[-1].pk) if more and rows else None,
    )


def list_memberships(workspace: Workspace, params: Mapping[str, Any], request: HttpRequest) -> Page:
    """GET /autopilot/email/memberships, with the same cursor paging as people."""
    members = AutopilotMembership.objects.filter(
        workspace=workspace, platform=Platform.EMAIL
    ).select_related("contact")
    person_id = as_text(params, "person_id")
    email = as_text(params, "person_email")
    phone = as_text(params, "person_phone_number")
    if person_id is not None:
        members = members.filter(contact_id=small_id(person_id) or 0)
    if email is not None:
        members = members.filter(contact__email=email.lower())
    if phone is not None:
        members = members.filter(contact__phone=phone)
    after = decode_cursor(params)
    if after is not None:
        members = members.filter(pk__gt=after)
    size = per_page(params)
    rows = list(members.order_by("id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    upcoming = shapes.next_invitations(row.contact_id for row in rows)
    return Page(
        [shapes.membership(row, upcoming.get(row.contact_id)) for row in rows],
        next_url(request, params, rows[-1].pk) if more and rows else None,
    )


# --- Page-number paging ---------------------------------------------------------------------


def list_survey_responses(workspace: Workspace, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """GET /survey_responses: the trend's (else the target survey's) answers, one page."""
    order = as_text(params, "order") or "asc"
    if order not in ORDERS:
        raise invalid("order", "is not included in the list")
    expand = set(as_list(params, "expand"))
    survey = survey_for_trend(workspace, dict(params))
    if survey is None:
        return []
    answers = responses_for(workspace).filter(survey=survey)
    answers = _between(answers, "created_at", params)
    answers = _between(answers, "updated_at", params, prefix="updated_")
    person_id = as_text(params, "person_id")
    if person_id is not None:
        answers = answers.filter(contact_id=small_id(person_id) or 0)
    person_email = as_text(params, "person_email")
    if person_email is not None:
        answers = answers.filter(contact__email=person_email.lower())
    rows = list(answers.order_by(*ORDERS[order])[page_slice(params)])
    people = shapes.people_by_id(row.contact_id for row in rows) if "person" in expand else None
    return [shapes.survey_response(row, people=people) for row in rows]


def list_unsubscribes(workspace: Workspace, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    people = _between(
        contacts_for(workspace).filter(unsubscribed_at__isnull=False), "unsubscribed_at", params
    )
    rows = people.order_by("unsubscribed_at", "id")[page_slice(params)]
    return [
        {
            "person_id": str(row.pk),
            "email": row.email,
            "name": row.name or None,
            "unsubscribed_at": unix(row.unsubscribed_at),
        }
        for row in rows
    ]


def list_bounces(workspace: Workspace, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    people = _between(
        contacts_for(workspace).filter(bounced_at__isnull=False), "bounced_at", params
    )
    rows = people.order_by("bounced_at", "id")[page_slice(params)]
    return [
        {
            "person_id": str(row.pk),
            "email": row.email,
            "name": row.name or None,
            "bounced_at": unix(row.bounced_at),
        }
        for row in rows
    ]


# --- Metrics --------------------------------------------------------------------------------


def metrics(workspace: Workspace, params: Mapping[str, Any]) -> dict[str, Any]:
    """GET /metrics: NPS and the promoter/passive/detractor split, from one grouped query.

    Percentages and NPS are whole numbers, as Delighted shows them (rounded
    half up from Kaiku's exact figures). With no answers every figure is 0.
    """
    survey = survey_for_trend(workspace, dict(params))
    since = as_time(params, "since")
    until = as_time(params, "until")
    if since is None and until is None:
        since = timezone.now() - DEFAULT_METRICS_WINDOW
    histogram = empty_histogram()
    if survey is not None:
        histograms = score_histograms(
            workspace,
            since or EPOCH,
            until + timedelta(seconds=1) if until is not None else None,
            group_by=("survey_id",),
        )
        histogram = histograms.get((survey.pk,), histogram)
    response_count = sum(histogram)
    if survey is not None and survey.kind != Kind.NPS:
        # Delighted's CSAT/CES metrics have other fields; only the count maps cleanly.
        return {"response_count": response_count}
    stats = nps_stats(histogram)

    def whole(value: float | None) -> int:
        return int(round_half_up(value, 0)) if value is not None else 0

    return {
        "nps": whole(stats.nps),
        "promoter_count": stats.promoters,
        "promoter_percent": whole(stats.promoters_pct),
        "passive_count": stats.passives,
        "passive_percent": whole(stats.passives_pct),
        "detractor_count": stats.detractors,
        "detractor_percent": whole(stats.detractors_pct),
        "response_count": response_count,
    }
