"""Score histograms for several groupings in one query.

`histograms(scope, flt, groupings)` sends ONE statement: a UNION ALL of
`SELECT <grouping no.>, <key as text>, score, COUNT(*) … GROUP BY key, score`, one branch per
grouping, all sharing the filter's WHERE clause. The result has (keys × 11) rows per grouping
(a year of local days is ~4,000 rows), whatever the number of answers. One round trip instead
of one per grouping; measured in bench/dashboard.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Count, QuerySet, Sum, TextField, Value
from django.db.models.expressions import Expression
from django.db.models.functions import Cast

from kaiku.accounts.models import Workspace
from kaiku.insights.models import DailyHistogram, SurveyRollup
from kaiku.insights.privacy import NOT_ROLLED
from kaiku.insights.queries.base import SLOTS
from kaiku.insights.queries.expressions import LocalDate, Tenure, property_text
from kaiku.insights.queries.filters import TENURE_KEY, ResponseFilter
from kaiku.responses.models import Response
from kaiku.surveys.models import Survey

GroupingKind = Literal["all", "day", "channel", "language", "property", "survey"]
Counts = dict[str | None, list[int]]


@dataclass(frozen=True)
class Grouping:
    """What to group answers by: `kind`, and the property name for kind="property"."""

    kind: GroupingKind
    key: str = ""

    @classmethod
    def for_name(cls, name: str) -> Grouping:
        """ "channel", "language" or a property name (incl. "@tenure") -> Grouping."""
        if name in ("channel", "language"):
            return cls(name)  # type: ignore[arg-type]
        return cls("property", name)

    @property
    def name(self) -> str:
        return self.key if self.kind == "property" else self.kind


@dataclass(frozen=True)
class Scope:
    """Whose answers: a workspace and some of its surveys (all of them when empty).

    Every query function takes a Scope, never a raw queryset from a view, so that an answer
    from another workspace cannot be counted by mistake.
    """

    workspace: Workspace
    surveys: tuple[Survey, ...]

    def __post_init__(self) -> None:
        for survey in self.surveys:
            if survey.workspace_id != self.workspace.pk:
                raise ValueError("a survey of another workspace")

    @classmethod
    def of(cls, survey: Survey) -> Scope:
        return cls(survey.workspace, (survey,))

    @property
    def zone(self) -> ZoneInfo:
        return self.workspace.tzinfo

    @property
    def kind(self) -> str:
        kinds = {s.kind for s in self.surveys}
        return kinds.pop() if len(kinds) == 1 else "nps"

    @property
    def scale(self) -> tuple[int, int]:
        if not self.surveys:
            return 0, 10
        return self.surveys[0].scale_min, self.surveys[0].scale_max


def answers(scope: Scope, flt: ResponseFilter) -> QuerySet[Response]:
    """The scope's answers that pass the filter, without ordering (for aggregates)."""
    start, end = flt.utc_bounds(scope.zone)
    qs = Response.objects.filter(created_at__gte=start, created_at__lt=end)
    # The surveys are the workspace's (checked in Scope): filtering by survey alone lets both
    # engines use the (survey, created_at, score) index instead of the workspace one.
    if len(scope.surveys) == 1:
        qs = qs.filter(survey_id=scope.surveys[0].pk)
    elif scope.surveys:
        qs = qs.filter(survey_id__in=[s.pk for s in scope.surveys])
    else:
        qs = qs.filter(workspace=scope.workspace)
    if flt.channels:
        qs = qs.filter(channel__in=flt.channels)
    if flt.languages:
        qs = qs.filter(language__in=flt.languages)
    low, high = scope.scale
    qs = qs.filter(flt.score_q(scope.kind, low, high))
    for number, (key, value) in enumerate(flt.properties):
        name = f"_property_{number}"
        # As text on both engines (SQLite's ->> returns JSON numbers as numbers).
        expression = Cast(_property_expression(key), TextField())
        qs = qs.alias(**{name: expression}).filter(**{name: value})
    return qs.order_by()


def _property_expression(key: str) -> Expression:
    return Tenure() if key == TENURE_KEY else property_text(key)


def key_expression(grouping: Grouping, scope: Scope, flt: ResponseFilter) -> Expression:
    if grouping.kind == "day":
        start, end = flt.utc_bounds(scope.zone)
        return LocalDate("created_at", scope.zone, start, end)
    if grouping.kind in ("channel", "language"):
        return Cast(grouping.kind, TextField())
    if grouping.kind == "survey":
        return Cast("survey_id", TextField())
    if grouping.kind == "property":
        return _property_expression(grouping.key)
    return Value("", output_field=TextField())


def histograms(
    scope: Scope, flt: ResponseFilter, groupings: Sequence[Grouping]
) -> dict[Grouping, Counts]:
    """{grouping: {key (text, None when missing): [count of score 0 … 10]}} in one query."""
    groupings = list(dict.fromkeys(groupings))
    results = histogram_set(scope, [(grouping, flt) for grouping in groupings])
    return dict(zip(groupings, results, strict=True))


def histogram_set(
    scope: Scope, requests: Sequence[tuple[Grouping, ResponseFilter]]
) -> list[Counts]:
    """One Counts per (grouping, filter) request, all from ONE statement.

    Each request is a UNION ALL branch with its own WHERE clause, so a page can ask for the
    previous period's days, this period's segments and each goal's period in one round trip.
    """
    if not requests:
        return []
    through = rolled_through(scope)
    branches: list[QuerySet[Any, Any]] = []
    for number, (grouping, flt) in enumerate(requests):
        live: ResponseFilter | None = flt
        if through is not None and rollup_key(grouping, flt) is not None:
            rolled, live = split_at(flt, through)
            if rolled is not None:
                branches.append(rollup_branch(scope, number, grouping, rolled))
        if live is not None:
            branches.append(
                answers(scope, live)
                .annotate(g=Value(number), k=key_expression(grouping, scope, live))
                .values("g", "k", "score")
                .annotate(n=Count("*"))
                .order_by()
            )
    if not branches:
        return [{} for _ in requests]
    query = branches[0].union(*branches[1:], all=True) if len(branches) > 1 else branches[0]
    results: list[Counts] = [{} for _ in requests]
    for row in _fetch(query):
        counts = results[row["g"]]
        # Keys as text: SQLite returns JSON numbers as numbers, PostgreSQL as text.
        key = row["k"] if row["k"] is None or isinstance(row["k"], str) else str(row["k"])
        counts.setdefault(key, [0] * SLOTS)[row["score"]] += row["n"]
    return results


# --- The daily histogram rollup (kaiku.insights.rollup) ------------------------------------------

ROLLUP_KEYS = {"all": "", "day": "", "channel": "@channel", "language": "@language"}


def rolled_through(scope: Scope) -> date | None:
    """The last local day every surveyed survey has in the rollup, or None (read live)."""
    if not scope.surveys:
        return None
    states = list(
        SurveyRollup.objects.filter(survey__in=[s.pk for s in scope.surveys]).values_list(
            "rolled_through", "zone"
        )
    )
    if len(states) != len(scope.surveys) or any(z != scope.workspace.time_zone for _, z in states):
        return None
    return min(day for day, _ in states)


def rollup_key(grouping: Grouping, flt: ResponseFilter) -> str | None:
    """The rollup key holding this grouping, or None when only the answers can tell.

    Channel, language and property filters cross-tabulate with the grouping, which the rollup
    does not store; score groups it does (score is part of every row).
    """
    if flt.channels or flt.languages or flt.properties:
        return None
    if grouping.kind in ROLLUP_KEYS:
        return ROLLUP_KEYS[grouping.kind]
    if grouping.kind == "property" and grouping.key not in NOT_ROLLED:
        return grouping.key
    return None


def split_at(
    flt: ResponseFilter, through: date
) -> tuple[ResponseFilter | None, ResponseFilter | None]:
    """(days up to `through`, later days) of the filter's range; None for an empty side."""
    if flt.until <= through:
        return flt, None
    if flt.since > through:
        return None, flt
    return (
        flt.with_range(flt.since, through),
        flt.with_range(through + timedelta(days=1), flt.until),
    )


def rollup_branch(
    scope: Scope, number: int, grouping: Grouping, flt: ResponseFilter
) -> QuerySet[Any, Any]:
    rows = DailyHistogram.objects.filter(
        survey_id__in=[s.pk for s in scope.surveys],
        key=rollup_key(grouping, flt),
        day__gte=flt.since,
        day__lte=flt.until,
    )
    low, high = scope.scale
    rows = rows.filter(flt.score_q(scope.kind, low, high))
    key: Expression
    if grouping.kind == "day":
        key = Cast("day", TextField())
    elif grouping.kind == "all":
        key = Value("", output_field=TextField())
    else:
        key = Cast("value", TextField())
    return (
        rows.annotate(g=Value(number), k=key)
        .values("g", "k", "score")
        .annotate(n=Sum("count"))
        .order_by()
    )


def _fetch(query: QuerySet[Any, Any]) -> Iterable[dict[str, Any]]:
    if connection.vendor != "postgresql":
        return list(query)
    # JIT compilation costs more than these short aggregates take (perf-baselines.md).
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        return list(query)


def total(counts: Iterable[list[int]]) -> list[int]:
    """The pooled histogram of several."""
    pooled = [0] * SLOTS
    for hist in counts:
        for score, count in enumerate(hist):
            pooled[score] += count
    return pooled
