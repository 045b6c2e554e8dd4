"""Loop metrics: is the team closing the loop, and does it work?

For cases opened in a period (one survey or the whole workspace):

- share of detractors contacted: detractor answers in the period whose case
  saw a reply emailed or a wait for the customer, over all detractor answers
  (Wilson 95% interval);
- median time to first action and to resolution;
- overdue: active cases past their due time, now;
- recovery rate: detractor cases whose contact answered the survey again after
  the case was resolved, and whose new answer is out of the low group (7 or
  more on NPS), over those that answered again (Wilson 95% interval);
- resolution categories ranked by frequency.

Five queries whatever the number of surveys: the period's cases (a few columns
each: cases are few next to answers), overdue and detractor counts grouped by
survey, and the category names; the rest is summed in Python.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from kaiku.accounts.models import Workspace
from kaiku.insights.queries.filters import score_range
from kaiku.loop.models import ACTIVE_STATUSES, Case, ResolutionCategory
from kaiku.metrics import round_half_up, wilson_interval
from kaiku.responses.models import Response
from kaiku.surveys.models import Survey


@dataclass(frozen=True)
class Rate:
    hits: int
    n: int

    @property
    def pct(self) -> float | None:
        return round_half_up(100 * self.hits / self.n) if self.n else None

    @property
    def ci95(self) -> tuple[float, float] | None:
        if not self.n:
            return None
        lo, hi = wilson_interval(self.hits, self.n)
        return round_half_up(100 * lo), round_half_up(100 * hi)


@dataclass(frozen=True)
class LoopMetrics:
    cases: int
    open_cases: int
    overdue: int
    contacted: Rate
    recovery: Rate
    median_first_action: timedelta | None
    median_resolution: timedelta | None
    categories: list[tuple[str, int]] = field(default_factory=list)


def loop_metrics(
    workspace: Workspace,
    since: datetime,
    until: datetime,
    surveys: Sequence[Survey] = (),
    now: datetime | None = None,
) -> LoopMetrics:
    """The loop metrics of cases (and detractor answers) created in [since, until)."""
    chosen = list(surveys) or list(Survey.objects.filter(workspace=workspace))
    return _Collected(workspace, since, until, chosen, now or timezone.now()).total()


def loop_metrics_by_survey(
    workspace: Workspace, since: datetime, until: datetime, now: datetime | None = None
) -> tuple[LoopMetrics, dict[int, LoopMetrics]]:
    """(the whole workspace, {survey id: its metrics}), in the same five queries."""
    chosen = list(Survey.objects.filter(workspace=workspace))
    collected = _Collected(workspace, since, until, chosen, now or timezone.now())
    return collected.total(), {s.pk: collected.total(s.pk) for s in chosen}


@dataclass(frozen=True)
class _CaseRow:
    survey_id: int
    status: str
    created_at: datetime
    first_action_at: datetime | None
    resolved_at: datetime | None
    recovered: bool | None
    category_id: int | None


class _Collected:
    """Everything the metrics need, read once (a constant number of queries, whatever
    the number of surveys), then summed per survey or overall in Python."""

    def __init__(
        self,
        workspace: Workspace,
        since: datetime,
        until: datetime,
        surveys: list[Survey],
        now: datetime,
    ) -> None:
        ids = [s.pk for s in surveys]
        scope = Case.objects.filter(workspace=workspace, survey_id__in=ids)
        fields = [f.name for f in dataclasses.fields(_CaseRow)]
        self.cases = [
            _CaseRow(*row)
            for row in scope.filter(created_at__gte=since, created_at__lt=until)
            .order_by()
            .values_list(*fields)
        ]
        self.overdue = _by_survey(
            scope.filter(status__in=ACTIVE_STATUSES, due_at__lt=now)
            .order_by()
            .values("survey_id")
            .annotate(n=Count("id"))
        )
        answers = (
            Response.objects.filter(
                workspace=workspace, created_at__gte=since, created_at__lt=until
            )
            .filter(_low_scores(surveys))
            .order_by()
            .values("survey_id")
        )
        self.detractors = _by_survey(answers.annotate(n=Count("id")))
        self.contacted = _by_survey(
            answers.annotate(n=Count("id", filter=Q(case__contacted_at__isnull=False)))
        )
        used = {row.category_id for row in self.cases if row.category_id is not None}
        self.labels = {c.pk: str(c.label) for c in ResolutionCategory.objects.filter(pk__in=used)}

    def total(self, survey_id: int | None = None) -> LoopMetrics:
        def mine(counts: dict[int, int]) -> int:
            if survey_id is not None:
                return counts.get(survey_id, 0)
            return sum(counts.values())

        rows = [r for r in self.cases if survey_id is None or r.survey_id == survey_id]
        recovered = [r.recovered for r in rows if r.recovered is not None]
        return LoopMetrics(
            cases=len(rows),
            open_cases=sum(r.status in ACTIVE_STATUSES for r in rows),
            overdue=mine(self.overdue),
            contacted=Rate(mine(self.contacted), mine(self.detractors)),
            recovery=Rate(sum(recovered), len(recovered)),
            median_first_action=_median(
                [r.first_action_at - r.created_at for r in rows if r.first_action_at]
            ),
            median_resolution=_median(
                [r.resolved_at - r.created_at for r in rows if r.resolved_at]
            ),
            categories=self._ranked(rows),
        )

    def _ranked(self, rows: list[_CaseRow]) -> list[tuple[str, int]]:
        """(label, number of cases) by frequency, most frequent first; ties by name."""
        counts = Counter(r.category_id for r in rows if r.category_id is not None)
        ranked = ((self.labels[pk], n) for pk, n in counts.items())
        return sorted(ranked, key=lambda item: (-item[1], item[0]))


def _by_survey(rows: Iterable[dict[str, Any]]) -> dict[int, int]:
    return {row["survey_id"]: row["n"] for row in rows}


def _low_scores(surveys: Sequence[Survey]) -> Q:
    """Answers in their survey's low group (NPS detractors 0–6; CSAT/CES low scores)."""
    condition = Q(pk__in=[])
    for survey in surveys:
        low = score_range(survey.kind, survey.scale_min, survey.scale_max, "low")
        condition |= Q(survey_id=survey.pk, score__gte=low.start, score__lt=low.stop)
    return condition


def _median(durations: list[timedelta]) -> timedelta | None:
    if not durations:
        return None
    return timedelta(seconds=statistics.median(d.total_seconds() for d in durations))


def format_duration(value: timedelta | None) -> str:
    """ "3 h 20 min", "2 d 4 h": durations as people read them."""
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"
