"""The first screen's figures: each survey's headline metric over the last 90 days.

One aggregate query for all surveys (queries.score_histograms), then
`kaiku.metrics` per survey; nothing here touches individual answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils.functional import Promise

from kaiku.accounts.models import Workspace
from kaiku.insights.labels import BAND_LABELS, METRIC_LABELS
from kaiku.insights.queries import Key, empty_histogram, score_histograms
from kaiku.metrics import HIDE_N, ces_stats, csat_stats, nps_stats, round_half_up
from kaiku.surveys.models import Survey

WINDOW_DAYS = 90
# Decimals shown, as in the metrics' to_dict(): points and percentages to 1, means
# on a 1-7 scale to 2 (one decimal would hide real movement).
PCT_PLACES = 1
MEAN_PLACES = 2


@dataclass(frozen=True)
class Figure:
    """A survey's headline figure, rounded for display (half-up, never banker's).

    `value`, `ci95` and `moe` are None when hidden (n < 5) or when there are no
    answers; `band` only exists for NPS.
    """

    metric: str  # "nps" | "csat" | "ces"
    n: int
    value: float | None
    ci95: tuple[float, float] | None
    moe: float | None
    band: str | None
    low_base: bool
    hidden: bool
    places: int
    # NPS only: promoters/passives/detractors in % (for the distribution bar).
    split: tuple[float, float, float] | None = None

    @property
    def metric_label(self) -> Promise:
        return METRIC_LABELS[self.metric]

    @property
    def band_label(self) -> Promise | str:
        return BAND_LABELS[self.band] if self.band else ""


@dataclass(frozen=True)
class SurveyRow:
    survey: Survey
    figure: Figure


@dataclass(frozen=True)
class Combined:
    """Several NPS surveys pooled: their answers counted together, never averaged."""

    surveys: list[Survey]
    figure: Figure


@dataclass(frozen=True)
class Overview:
    since: date  # first and last day of the window, in the workspace's time zone
    until: date
    days: int
    rows: list[SurveyRow]
    combined: Combined | None = None


def survey_overview(workspace: Workspace, now: datetime, combine: Sequence[int] = ()) -> Overview:
    """Every survey of the workspace with its figure over the WINDOW_DAYS before `now`.

    Two queries whatever the number of surveys: the surveys, and one grouped
    count of (survey, score) over the window.
    """
    since = now - timedelta(days=WINDOW_DAYS)
    histograms = score_histograms(workspace, since)
    rows = [
        SurveyRow(survey, figure_for(survey, histograms.get((survey.pk,), empty_histogram())))
        for survey in Survey.objects.filter(workspace=workspace).order_by("name", "pk")
    ]
    zone = workspace.tzinfo
    return Overview(
        since=since.astimezone(zone).date(),
        until=now.astimezone(zone).date(),
        days=WINDOW_DAYS,
        rows=rows,
        combined=combined_figure(rows, histograms, combine),
    )


def combined_figure(
    rows: Sequence[SurveyRow], histograms: dict[Key, list[int]], combine: Sequence[int]
) -> Combined | None:
    """The pooled NPS of the chosen NPS surveys (two or more), from the same histograms."""
    chosen = [r.survey for r in rows if r.survey.pk in set(combine) and r.survey.kind == "nps"]
    if len(chosen) < 2:
        return None
    pooled = empty_histogram()
    for survey in chosen:
        for score, count in enumerate(histograms.get((survey.pk,), empty_histogram())):
            pooled[score] += count
    return Combined(chosen, figure_for(chosen[0], pooled))


def figure_for(survey: Survey, histogram: Sequence[int]) -> Figure:
    """The headline figure of a survey's kind from its 0-10 histogram."""
    # Slots above the survey's scale stay empty: the database refuses
    # out-of-scale scores (response_score_within_scale).
    hist = list(histogram[: survey.scale_max + 1])
    if survey.kind == "csat":
        csat = csat_stats(hist, survey.scale_min, survey.scale_max)
        return _figure(
            "csat", csat.n, csat.csat, csat.ci95, csat.moe, None, csat.low_base, PCT_PLACES
        )
    if survey.kind == "ces":
        ces = ces_stats(hist, survey.scale_min, survey.scale_max)
        ci = ces.mean_ci95
        moe = None if ci is None else (ci[1] - ci[0]) / 2
        return _figure("ces", ces.n, ces.mean, ci, moe, None, ces.low_base, MEAN_PLACES)
    nps = nps_stats(hist)
    split = None
    if nps.promoters_pct is not None and nps.passives_pct is not None:
        split = (
            _round(nps.promoters_pct, PCT_PLACES),
            _round(nps.passives_pct, PCT_PLACES),
            _round(nps.detractors_pct or 0.0, PCT_PLACES),
        )
    return _figure(
        "nps", nps.n, nps.nps, nps.ci95, nps.moe, nps.band, nps.low_base, PCT_PLACES, split
    )


def _figure(
    metric: str,
    n: int,
    value: float | None,
    ci95: tuple[float, float] | None,
    moe: float | None,
    band: str | None,
    low_base: bool,
    places: int,
    split: tuple[float, float, float] | None = None,
) -> Figure:
    hidden = n < HIDE_N
    if hidden or value is None:
        # Below HIDE_N answers a figure could identify a respondent: show nothing.
        return Figure(metric, n, None, None, None, None, True, hidden, places)
    return Figure(
        metric=metric,
        n=n,
        value=_round(value, places),
        ci95=None if ci95 is None else (_round(ci95[0], places), _round(ci95[1], places)),
        moe=None if moe is None else _round(moe, places),
        band=band,
        low_base=low_base,
        hidden=False,
        places=places,
        split=split,
    )


def _round(value: float, places: int) -> float:
    # + 0.0 turns -0.0 (e.g. -0.04 rounded) into 0.0 so the page never shows "-0.0".
    return round_half_up(value, places) + 0.0
