"""Goals: is the target inside, above or below the 95% interval of the goal period's figure?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kaiku import metrics
from kaiku.insights.analysis import figures_for, to_array
from kaiku.insights.models import Goal
from kaiku.insights.queries.filters import ResponseFilter
from kaiku.insights.queries.grouped import Counts, Grouping, Scope, total


@dataclass(frozen=True)
class GoalStatus:
    goal: Goal
    n: int
    value: float | None
    ci95: list[float] | None
    # "reached": the whole interval is at or above the target; "missed": the whole interval
    # is below it; "open": the target lies inside the interval (cannot tell yet);
    # "no_data": fewer than 5 answers.
    status: str

    @property
    def gap(self) -> str | None:
        """Figure minus target, signed: "+3.2" above it, "-4.0" below."""
        if self.value is None:
            return None
        return f"{metrics.round_half_up(self.value - self.goal.target, 2):+g}"


def goal_filter(goal: Goal) -> ResponseFilter:
    segment = ((goal.segment_property, goal.segment_value),) if goal.segment_property else ()
    return ResponseFilter(since=goal.period_start, until=goal.period_end, properties=segment)


def goal_requests(
    goals: Sequence[Goal], _page: ResponseFilter
) -> list[tuple[Grouping, ResponseFilter]]:
    """One histogram branch per goal: the goal's own period and segment, not the page's filter."""
    return [(Grouping("all"), goal_filter(goal)) for goal in goals]


def goal_statuses(
    scope: Scope, goals: Sequence[Goal], results: Sequence[Counts]
) -> list[GoalStatus]:
    figures = figures_for(scope)
    statuses = []
    for goal, counts in zip(goals, results, strict=True):
        stats = figures.stats(to_array(total(counts.values()), figures.scale_max))
        statuses.append(status_of(goal, scope.kind, stats))
    return statuses


def status_of(goal: Goal, kind: str, stats: dict[str, Any]) -> GoalStatus:
    value, ci = (
        (stats["mean"], stats["mean_ci95"])
        if kind == "ces"
        else (stats["csat"] if kind == "csat" else stats["nps"], stats["ci95"])
    )
    if stats["n"] < 5 or value is None or ci is None:
        return GoalStatus(goal, stats["n"], None, None, "no_data")
    if ci[0] >= goal.target:
        status = "reached"
    elif ci[1] < goal.target:
        status = "missed"
    else:
        status = "open"
    return GoalStatus(goal, stats["n"], value, ci, status)
