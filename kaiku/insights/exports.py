"""CSV exports: every answer behind the figures (streamed), and the tables a page shows."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from kaiku.insights.compare import compare_periods
from kaiku.insights.dashboard import build_dashboard
from kaiku.insights.page import Page, read_page
from kaiku.insights.queries.filters import TENURE_KEY, score_range
from kaiku.insights.queries.grouped import Scope, answers
from kaiku.responses.models import Response

CHUNK = 2000  # rows fetched per round trip; memory stays flat whatever the export's size
BASE_COLUMNS = ["id", "created_at", "score", "group", "channel", "language", "comment"]


class _Echo:
    """A file-like object whose write() returns the line: csv.writer → generator of lines."""

    def write(self, value: str) -> str:
        return value


# The team's own tags and notes, when the answers have them (kaiku.responses).
EXTRA_FIELDS = tuple(f for f in ("tags", "notes") if f in {x.name for x in Response._meta.fields})


def answer_rows(scope: Scope, page: Page) -> Iterator[list[Any]]:
    """The header, then one row per answer; fetched CHUNK rows at a time (.iterator)."""
    keys = [k for k in page.properties if k != TENURE_KEY]
    yield [*BASE_COLUMNS, *EXTRA_FIELDS, *keys, "properties"]
    low, high = scope.scale
    group_of = {
        score: name
        for name in ("low", "mid", "high")
        for score in score_range(scope.kind, low, high, name)
    }
    zone = scope.zone
    fields = ("id", "created_at", "score", "channel", "language", "comment", "properties")
    rows = answers(scope, page.flt).order_by("created_at", "id").values_list(*fields, *EXTRA_FIELDS)
    for pk, created, score, channel, language, comment, properties, *extra in rows.iterator(
        chunk_size=CHUNK
    ):
        props = properties if isinstance(properties, dict) else {}
        yield [
            pk,
            created.astimezone(zone).isoformat(timespec="seconds"),
            score,
            group_of.get(score, ""),
            channel,
            language,
            _safe(comment),
            *(_safe(_extra(value)) for value in extra),
            *(_safe(_text(props.get(k))) for k in keys),
            json.dumps(props, ensure_ascii=False, sort_keys=True),
        ]


def _extra(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _safe(text: str) -> str:
    # A cell starting with = + - @ is a formula in spreadsheets (CSV injection): prefix a quote.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_lines(rows: Iterable[list[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow(row)


def _filename(page: Page, what: str) -> str:
    return f"kaiku-survey{page.survey.pk}-{what}-{page.flt.since}-{page.flt.until}.csv"


@login_required
def responses_csv(
    request: HttpRequest, workspace_slug: str, survey_id: int
) -> StreamingHttpResponse:
    page = read_page(request, workspace_slug, survey_id)
    response = StreamingHttpResponse(
        csv_lines(answer_rows(page.scope, page)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(page, "answers")}"'
    return response


@login_required
def table_csv(request: HttpRequest, workspace_slug: str, survey_id: int) -> HttpResponse:
    """?table=trend | segment&segment=<name> | compare: the table as shown, with its tests."""
    page = read_page(request, workspace_slug, survey_id)
    table = request.GET.get("table", "trend")
    if table == "compare":
        rows = _compare_rows(page)
    else:
        name = request.GET.get("segment") or page.options.by
        options = replace(page.options, by=name) if table == "segment" else page.options
        board = build_dashboard(page.scope, page.flt, options)
        if table == "segment":
            segment = next((t for t in board.segments if t.name == name), None)
            rows = _flat([{"segment": name, **r} for r in (segment.rows if segment else [])])
        else:
            rows = _flat(board.trend)
    response = HttpResponse("".join(csv_lines(rows)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(page, table)}"'
    return response


def _compare_rows(page: Page) -> list[list[Any]]:
    result = compare_periods(page.scope, page.flt, page.options.by)
    flat = [
        {
            "value": r["value"],
            "n_current": r["current"]["n"],
            "n_previous": r["previous"]["n"],
            **{f"current_{k}": v for k, v in r["current"].items() if k != "n"},
            **{f"previous_{k}": v for k, v in r["previous"].items() if k != "n"},
            "delta": r["delta"],
            "p_value": r["p_value"],
            "q_value": r.get("q_value"),
            "significant": r.get("significant"),
        }
        for r in result.rows
    ]
    return _flat(flat)


def _flat(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """Rows of dicts → header + cells; intervals split into _lo/_hi, tests into prefixed cells."""
    if not rows:
        return [["no rows"]]
    header: list[str] = []
    table: list[dict[str, Any]] = []
    for row in rows:
        cells: dict[str, Any] = {}
        for key, value in row.items():
            if isinstance(value, dict):
                cells.update({f"{key}_{k}": v for k, v in value.items()})
            elif isinstance(value, list | tuple):
                cells.update(
                    {f"{key}_lo": value[0], f"{key}_hi": value[1]} if len(value) == 2 else {}
                )
            else:
                cells[key] = value
        for key in cells:
            if key not in header:
                header.append(key)
        table.append(cells)
    return [header] + [[_text(r.get(k)) for k in header] for r in table]
