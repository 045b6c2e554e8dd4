"""The daily significant-drop check: the last 7 and 30 days against the period before.

Once a day per survey (from KAIKU_LOOP_DAILY_HOUR in the workspace's time
zone), each window of complete local days ending last midnight is compared
with the equally long period just before it, using the product's two-sample
test (domain.md §1.3; CSAT and CES % agree by two-proportion z-tests). An alert
goes out only when the figure fell, the fall is significant at 95% (p < 0.05)
and neither period is a low base (domain.md §1.4: n < 30 or a margin over 20
points). A fixed threshold would alert on noise for small surveys and miss
real falls for big ones.

Each check is stored (DropCheck, unique per survey, day and window): the row
is the claim, so the check and its alert happen once a day whatever the number
of workers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from kaiku.accounts.models import Workspace
from kaiku.insights.queries import Key, empty_histogram, score_histograms
from kaiku.insights.queries.filters import local_midnight
from kaiku.loop.models import DropCheck
from kaiku.metrics import ces_stats, compare_stats, csat_stats, nps_stats
from kaiku.surveys.models import Survey

logger = logging.getLogger(__name__)

WINDOWS = (7, 30)
SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class Outcome:
    n_recent: int
    n_previous: int
    value_recent: float | None
    value_previous: float | None
    delta: float | None
    p_value: float | None
    low_base: bool

    @property
    def significant_drop(self) -> bool:
        return (
            not self.low_base
            and self.delta is not None
            and self.delta < 0
            and self.p_value is not None
            and self.p_value < SIGNIFICANCE
        )


def compare_periods(survey: Survey, recent: list[int], previous: list[int]) -> Outcome:
    """The survey's headline figure in two periods and the test of their difference."""
    lo, hi = survey.scale_min, survey.scale_max
    if survey.kind == "nps":
        stats_r, stats_p = nps_stats(recent), nps_stats(previous)
        values = (stats_r.nps, stats_p.nps)
        low_base = stats_r.low_base or stats_p.low_base
        metric = "nps"
    elif survey.kind == "csat":
        csat_r, csat_p = csat_stats(recent, lo, hi), csat_stats(previous, lo, hi)
        values = (csat_r.csat, csat_p.csat)
        low_base = csat_r.low_base or csat_p.low_base
        metric = "csat"
    else:
        ces_r, ces_p = ces_stats(recent, lo, hi), ces_stats(previous, lo, hi)
        values = (ces_r.agree_pct, ces_p.agree_pct)
        low_base = ces_r.low_base or ces_p.low_base
        metric = "ces_agree"
    n_r, n_p = sum(recent), sum(previous)
    if n_r == 0 or n_p == 0:
        return Outcome(n_r, n_p, values[0], values[1], None, None, True)
    comparison = compare_stats(metric, recent, previous, lo, hi)
    return Outcome(n_r, n_p, values[0], values[1], comparison.delta, comparison.p_value, low_base)


def check_drops(now: datetime | None = None) -> int:
    """Run today's checks of every workspace past its daily hour; surveys alerted."""
    now = now or timezone.now()
    alerted = 0
    for workspace in Workspace.objects.all().order_by("pk"):
        local = now.astimezone(workspace.tzinfo)
        if local.hour >= settings.LOOP_DAILY_HOUR:
            alerted += check_workspace(workspace, local.date())
    return alerted


def check_workspace(workspace: Workspace, day: date) -> int:
    """The checks of `day` for the workspace's active surveys not checked yet (idempotent)."""
    done = DropCheck.objects.filter(survey=OuterRef("pk"), day=day)
    surveys = list(
        Survey.objects.filter(workspace=workspace, is_active=True)
        .annotate(done=Exists(done))
        .filter(done=False)
        .select_related("workspace")
    )
    if not surveys:
        return 0
    histograms = {w: _window_histograms(workspace, day, w) for w in WINDOWS}
    alerted = 0
    for survey in surveys:
        key: Key = (survey.pk,)
        outcomes = {
            w: compare_periods(
                survey,
                histograms[w][0].get(key, empty_histogram()),
                histograms[w][1].get(key, empty_histogram()),
            )
            for w in WINDOWS
        }
        alerted += _store(survey, day, outcomes)
    return alerted


def _window_histograms(
    workspace: Workspace, day: date, window: int
) -> tuple[dict[Key, list[int]], dict[Key, list[int]]]:
    """(recent, previous) score histograms per survey: whole local days up to `day`."""
    zone = workspace.tzinfo
    end = local_midnight(day, zone)
    middle = local_midnight(day - timedelta(days=window), zone)
    start = local_midnight(day - timedelta(days=2 * window), zone)
    return (
        score_histograms(workspace, middle, end),
        score_histograms(workspace, start, middle),
    )


def _store(survey: Survey, day: date, outcomes: dict[int, Outcome]) -> int:
    from kaiku.loop.tasks import send_drop_alert

    try:
        with transaction.atomic(durable=True):
            for window, outcome in outcomes.items():
                DropCheck.objects.create(
                    survey=survey,
                    day=day,
                    window_days=window,
                    n_recent=outcome.n_recent,
                    n_previous=outcome.n_previous,
                    value_recent=outcome.value_recent,
                    value_previous=outcome.value_previous,
                    delta=outcome.delta,
                    p_value=outcome.p_value,
                    low_base=outcome.low_base,
                    significant_drop=outcome.significant_drop,
                )
            drop = any(o.significant_drop for o in outcomes.values())
            if drop:
                transaction.on_commit(
                    partial(send_drop_alert.enqueue, survey.pk, day.isoformat()), robust=True
                )
    except IntegrityError:
        return 0  # another worker checked this survey today
    return int(drop)
