"""The themes table of one survey and period: what the page, the API and the CSV export show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kaiku.metrics import NpsCounts, NpsStats, nps_stats
from kaiku.surveys.models import Survey
from kaiku.themes.models import Taxonomy, Theme
from kaiku.themes.queries import Period, active_themes, survey_counts, theme_counts
from kaiku.themes.text.impact import ThemeImpact, theme_impacts

PASSIVES_TOP = 5


@dataclass(frozen=True)
class ThemeRow:
    theme: Theme
    figures: ThemeImpact


@dataclass(frozen=True)
class ThemesReport:
    survey: Survey
    period: Period
    total: NpsStats
    comments: int
    rows: list[ThemeRow]  # most negative impact first
    comparisons: int  # themes tested together (the BH family)
    taxonomy_current: bool  # False while a recompute is pending

    @property
    def passives_rows(self) -> list[ThemeRow]:
        """ "What holds passives back": themes by their share among passives."""
        rows = [r for r in self.rows if r.figures.passive_share]
        rows.sort(key=lambda r: (-(r.figures.passive_share or 0.0), r.theme.pk))
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "survey": self.survey.pk,
            "from": self.period.start.isoformat(),
            "to": self.period.end.isoformat(),
            "nps": self.total.to_dict(),
            "comments": self.comments,
            "comparisons": self.comparisons,
            "up_to_date": self.taxonomy_current,
            "themes": [theme_dict(row) for row in self.rows],
            "passives_top": [row.theme.key for row in self.passives_rows[:PASSIVES_TOP]],
        }


def theme_dict(row: ThemeRow) -> dict[str, Any]:
    return {
        "id": row.theme.pk,
        "key": row.theme.key,
        "name": str(row.theme.label),
        **row.figures.to_dict(),
    }


def themes_report(survey: Survey, period: Period) -> ThemesReport:
    """Three queries: the survey's groups, the groups per theme, the themes."""
    total, comments = survey_counts(survey, period)
    per_theme = theme_counts(survey, period)
    themes = active_themes(survey.workspace_id)
    counts = {theme.pk: per_theme.get(theme.pk, NpsCounts(0, 0, 0)) for theme in themes}
    by_id = {theme.pk: theme for theme in themes}
    figures = theme_impacts(counts, total)
    taxonomy = Taxonomy.objects.filter(workspace_id=survey.workspace_id).first()
    return ThemesReport(
        survey=survey,
        period=period,
        total=nps_stats(total),
        comments=comments,
        rows=[ThemeRow(by_id[f.theme], f) for f in figures],
        comparisons=sum(1 for f in figures if f.p_value is not None),
        taxonomy_current=taxonomy is None or taxonomy.is_current,
    )
