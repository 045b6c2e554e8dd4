"""Analytics queries: the database counts, `kaiku.metrics` does the statistics.

Every figure on a screen starts as a histogram of score counts aggregated by
the database in one grouped query. Answers are never loaded into Python: a
workspace with a million answers costs the same Python work as one with ten.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import Count

from kaiku.accounts.models import Workspace
from kaiku.responses.models import Response

# Scores run 0-10 on every scale (NPS 0-10, CSAT 1-5/1-7/1-10, CES 1-7/1-5), so
# one 11-slot list indexed by score fits every survey kind.
SLOTS = 11

Key = tuple[Any, ...]


def empty_histogram() -> list[int]:
    return [0] * SLOTS


def score_histograms(
    workspace: Workspace,
    since: datetime,
    until: datetime | None = None,
    group_by: Sequence[str] = ("survey_id",),
) -> dict[Key, list[int]]:
    """Score counts of the workspace's answers in [since, until), per group.

    Returns {(value of each group_by field, …): [count of score 0, …, count of
    score 10]}; groups without answers are absent (use `empty_histogram()`).
    Keys are tuples even for one field, so callers read them the same way when
    the analytics layer groups by survey and channel, or by a property.

    One query: `SELECT survey_id, score, COUNT(*) … GROUP BY survey_id, score`,
    narrowed by the (workspace, created_at) index (response_workspace_time).
    """
    if "score" in group_by:
        raise ValueError("score is always grouped by; do not list it in group_by")
    answers = Response.objects.filter(workspace=workspace, created_at__gte=since)
    if until is not None:
        answers = answers.filter(created_at__lt=until)
    # order_by() drops Meta.ordering (-created_at): an ORDER BY on a column that
    # is not grouped would make PostgreSQL sort every answer for nothing.
    rows = answers.order_by().values(*group_by, "score").annotate(n=Count("id"))
    histograms: dict[Key, list[int]] = {}
    for row in rows:
        key = tuple(row[field] for field in group_by)
        histograms.setdefault(key, empty_histogram())[row["score"]] += row["n"]
    return histograms
