"""Retention from contact lifecycle properties, and retention by NPS group.

Customer Retention Rate by cohort (domain.md §2): of the customers active at the start of the
period, the share still active at its end; newcomers during the period are left out, so a new
customer who churned within the period cannot distort the rate. Lifecycle dates come from the
contact properties named in WorkspaceAnalyticsSettings (default customer_since and churned_at)
and are compared as ISO date text in SQL, so a malformed value never fails a query.

"Does NPS predict churn here?": contacts grouped by their latest answer in the previous equal
period (detractor / passive / promoter), and each group's retention over this period, with
Wilson intervals. Two aggregate queries; no contact is loaded into Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Case, CharField, Count, OuterRef, Q, Subquery, Value, When
from django.db.models.expressions import Expression
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, Substr

from kaiku.contacts.models import Contact
from kaiku.insights.models import WorkspaceAnalyticsSettings
from kaiku.insights.queries.filters import ResponseFilter, score_range
from kaiku.insights.queries.grouped import Scope, answers
from kaiku.metrics import Retention


@dataclass(frozen=True)
class RetentionRow:
    label: str
    retention: Retention

    @property
    def rate(self) -> float | None:
        rate = self.retention.rate
        return None if rate is None else round(rate, 1)

    @property
    def ci(self) -> tuple[float, float] | None:
        ci = self.retention.ci()
        return None if ci is None else (round(ci[0], 1), round(ci[1], 1))


@dataclass(frozen=True)
class RetentionReport:
    since: date
    until: date
    overall: RetentionRow
    cohorts: list[RetentionRow]
    by_group: list[RetentionRow]
    since_property: str
    churned_property: str


def _day(key: str) -> Expression:
    return Substr(Coalesce(KT(f"properties__{key}"), Value("")), 1, 10)


def _active_at(moment: date) -> Q:
    day = moment.isoformat()
    return Q(_since__lte=day) & (Q(_churned="") | Q(_churned__gt=day))


def _lifecycle(scope: Scope, cfg: WorkspaceAnalyticsSettings):  # type: ignore[no-untyped-def]
    return (
        Contact.objects.filter(workspace=scope.workspace)
        .alias(_since=_day(cfg.customer_since_property), _churned=_day(cfg.churned_at_property))
        .exclude(_since="")
        .order_by()
    )


def retention_report(scope: Scope, flt: ResponseFilter) -> RetentionReport:
    cfg = WorkspaceAnalyticsSettings.for_workspace(scope.workspace)
    start, end = flt.since, flt.until
    counts = {
        "at_start": Count("pk", filter=_active_at(start)),
        "retained": Count("pk", filter=_active_at(start) & _active_at(end)),
    }
    cohorts = [
        RetentionRow(str(row["cohort"]), Retention(row["at_start"], row["retained"]))
        for row in _lifecycle(scope, cfg)
        .values(cohort=Substr("_since", 1, 4))
        .annotate(**counts)
        .order_by("cohort")
        if row["at_start"]
    ]
    overall = Retention(
        sum(r.retention.at_start for r in cohorts), sum(r.retention.retained for r in cohorts)
    )
    return RetentionReport(
        since=start,
        until=end,
        overall=RetentionRow("all", overall),
        cohorts=cohorts,
        by_group=_by_group(scope, flt, cfg, counts),
        since_property=cfg.customer_since_property,
        churned_property=cfg.churned_at_property,
    )


def _by_group(scope, flt, cfg, counts):  # type: ignore[no-untyped-def]
    previous = flt.previous()
    latest = (
        answers(scope, previous)
        .filter(contact=OuterRef("pk"))
        .order_by("-created_at", "-id")
        .values("score")[:1]
    )
    low, high = scope.scale
    group = Case(
        *(
            When(_score__in=list(score_range(scope.kind, low, high, name)), then=Value(name))
            for name in ("low", "mid", "high")
        ),
        default=Value(""),
        output_field=CharField(),
    )
    rows = (
        _lifecycle(scope, cfg)
        .alias(_score=Subquery(latest))
        .filter(_score__isnull=False)
        .values(group=group)
        .annotate(**counts)
    )
    found = {row["group"]: Retention(row["at_start"], row["retained"]) for row in rows}
    return [RetentionRow(name, found.get(name, Retention(0, 0))) for name in ("high", "mid", "low")]
