"""Streaming exports of a workspace's answers and contacts as CSV or JSON.

Table-driven: an export is a queryset and a list of columns. Apps with more to
export (cases, once they exist) call `register_export(...)` from their
AppConfig.ready() and appear on the export page and at
/w/<slug>/export/<name>.csv|json without changes here.

Rows are read with `.iterator(chunk_size=…)` and written as they come, so a
million answers stream in constant memory; nothing is built in full first.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from kaiku.accounts.models import Workspace
from kaiku.contacts.models import Contact
from kaiku.responses.models import Response

CHUNK = 2000
# Property keys become CSV columns when they occur in this many of the newest
# answers; everything is also in the `properties` JSON column.
PROPERTY_SAMPLE = 10_000
FORMATS = ("csv", "json")


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class ExportSpec:
    name: str
    label: StrOrPromise
    rows: Callable[[Workspace, dict[str, Any]], QuerySet[Any]]  # .values() rows
    # (workspace, filters, "csv" or "json") → the columns, in order.
    columns: Callable[[Workspace, dict[str, Any], str], list[Column]]
    filters: Sequence[str] = field(default_factory=tuple)  # accepted query parameters


EXPORTS: dict[str, ExportSpec] = {}


def register_export(spec: ExportSpec) -> None:
    EXPORTS[spec.name] = spec


class BadFilter(ValueError):
    """A filter value the export cannot use; the message is for the user."""


def clean_filters(spec: ExportSpec, params: Mapping[str, str]) -> dict[str, Any]:
    """The spec's filters from query parameters, checked before the download starts.

    A bad value must be a clear 400 now: once the file streams, an error can only
    cut it short.
    """
    filters: dict[str, Any] = {}
    for key in spec.filters:
        value = params.get(key, "").strip()
        if not value:
            continue
        if key == "survey":
            if not value.isdigit():
                raise BadFilter(gettext("“survey” must be a survey id (a number)."))
            filters[key] = int(value)
        elif key in ("since", "until"):
            try:
                filters[key] = date.fromisoformat(value)
            except ValueError:
                raise BadFilter(
                    gettext("“%(name)s” must be a date as YYYY-MM-DD.") % {"name": key}
                ) from None
        else:
            filters[key] = value
    return filters


def row_value(key: str) -> Callable[[dict[str, Any]], Any]:
    """A Column's value: the row's `key` as it is."""
    return lambda row: row[key]


# --- Answers ---------------------------------------------------------------------------

RESPONSE_VALUES = (
    "id",
    "survey_id",
    "survey__name",
    "score",
    "comment",
    "language",
    "comment_language",
    "channel",
    "properties",
    "source_ref",
    "created_at",
    "updated_at",
    "contact_id",
    "contact__email",
    "contact__external_id",
    "contact__name",
)


def filter_survey_and_dates(queryset: QuerySet[Any], filters: dict[str, Any]) -> QuerySet[Any]:
    """The `survey`, `since` and `until` filters (cleaned by clean_filters) on created_at."""
    if filters.get("survey"):
        queryset = queryset.filter(survey_id=filters["survey"])
    if filters.get("since"):
        queryset = queryset.filter(created_at__date__gte=filters["since"])
    if filters.get("until"):
        queryset = queryset.filter(created_at__date__lte=filters["until"])
    return queryset


def response_rows(workspace: Workspace, filters: dict[str, Any]) -> QuerySet[Any]:
    queryset = filter_survey_and_dates(Response.objects.filter(workspace=workspace), filters)
    # By (created_at, id): stable for a file that is read while answers arrive.
    return queryset.order_by("created_at", "id").values(*RESPONSE_VALUES)


def response_columns(workspace: Workspace, filters: dict[str, Any], fmt: str) -> list[Column]:
    """JSON keeps properties as one object; CSV also spreads common ones into columns."""
    columns = [
        Column("id", row_value("id")),
        Column("survey_id", row_value("survey_id")),
        Column("survey", row_value("survey__name")),
        Column("created_at", lambda r: r["created_at"]),
        Column("score", row_value("score")),
        Column("comment", row_value("comment")),
        Column("language", row_value("language")),
        Column("comment_language", row_value("comment_language")),
        Column("channel", row_value("channel")),
        Column("contact_id", row_value("contact_id")),
        Column("email", row_value("contact__email")),
        Column("external_id", row_value("contact__external_id")),
        Column("name", row_value("contact__name")),
        Column("source_ref", row_value("source_ref")),
    ]
    taken = {c.header for c in columns} | {"properties"}
    for key in property_keys(workspace, filters) if fmt == "csv" else []:
        if key not in taken:
            columns.append(Column(key, _property(key)))
    columns.append(Column("properties", row_value("properties")))
    return columns


def _property(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda row: (row["properties"] or {}).get(key)


def property_keys(workspace: Workspace, filters: dict[str, Any]) -> list[str]:
    """Property names of the newest answers, most common first (ties by name)."""
    recent = response_rows(workspace, filters).order_by("-created_at")[:PROPERTY_SAMPLE]
    counts: dict[str, int] = {}
    for properties in recent.values_list("properties", flat=True):
        for key in properties or {}:
            counts[key] = counts.get(key, 0) + 1
    return sorted(counts, key=lambda k: (-counts[k], k))


register_export(
    ExportSpec(
        name="responses",
        label=_("Answers"),
        rows=response_rows,
        columns=response_columns,
        filters=("survey", "since", "until"),
    )
)

# --- Contacts --------------------------------------------------------------------------

CONTACT_FIELDS = (
    "id",
    "email",
    "external_id",
    "name",
    "phone",
    "language",
    "properties",
    "unsubscribed_at",
    "bounced_at",
    "created_at",
    "updated_at",
)


def contact_rows(workspace: Workspace, filters: dict[str, Any]) -> QuerySet[Any]:
    return Contact.objects.filter(workspace=workspace).order_by("id").values(*CONTACT_FIELDS)


def contact_columns(workspace: Workspace, filters: dict[str, Any], fmt: str) -> list[Column]:
    return [Column(name, row_value(name)) for name in CONTACT_FIELDS]


register_export(
    ExportSpec(name="contacts", label=_("Contacts"), rows=contact_rows, columns=contact_columns)
)

# --- Writing ---------------------------------------------------------------------------


def cell(value: Any) -> Any:
    """A value as CSV text: UTC ISO times, JSON for objects, empty for None."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") and not _is_number(value):
        # Spreadsheets run cells starting with these as formulas (CSV injection).
        return "'" + value
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


class _Echo:
    """A file-like object whose write() returns the text: csv.writer → generator."""

    def write(self, value: str) -> str:
        return value


def stream_csv(spec: ExportSpec, workspace: Workspace, filters: dict[str, Any]) -> Iterator[str]:
    columns = spec.columns(workspace, filters, "csv")
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([c.header for c in columns])  # BOM: Excel reads UTF-8
    for row in spec.rows(workspace, filters).iterator(chunk_size=CHUNK):
        yield writer.writerow([cell(c.value(row)) for c in columns])


def stream_json(spec: ExportSpec, workspace: Workspace, filters: dict[str, Any]) -> Iterator[str]:
    """A JSON array, one object per line, written as rows are read."""
    columns = spec.columns(workspace, filters, "json")
    yield "["
    separator = "\n"
    for row in spec.rows(workspace, filters).iterator(chunk_size=CHUNK):
        item = {c.header: json_value(c.value(row)) for c in columns}
        yield separator + json.dumps(item, ensure_ascii=False)
        separator = ",\n"
    yield "\n]\n"


def stream(
    spec: ExportSpec, fmt: str, workspace: Workspace, filters: dict[str, Any]
) -> Iterable[str]:
    return (
        stream_csv(spec, workspace, filters)
        if fmt == "csv"
        else stream_json(spec, workspace, filters)
    )
