"""Which answers open a follow-up case: a survey's rules against one answer.

`evaluate()` is pure (settings and facts in, a reason out) so every rule can be
tested without a database; `facts_for()` gathers what the rules need in at most
two small queries (the contact's previous answer, the answer's themes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kaiku.loop.models import CaseReason, LoopSettings
from kaiku.responses.models import Response
from kaiku.responses.pages import score_group
from kaiku.surveys.models import Survey


@dataclass(frozen=True)
class Facts:
    """What the rules look at: the answer's group, comment, previous score and themes."""

    group: str  # low / middle / high (kaiku.responses.pages.score_group)
    score: int
    comment: str
    previous_score: int | None = None
    theme_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Match:
    reason: str
    detail: str = ""


def settings_for(survey: Survey) -> LoopSettings:
    """The survey's settings, or the defaults (unsaved) when it has none."""
    found = LoopSettings.objects.filter(survey=survey).first()
    if found is not None:
        return found
    return LoopSettings(workspace_id=survey.workspace_id, survey=survey)


def evaluate(settings: LoopSettings, facts: Facts) -> Match | None:
    """The first rule the answer meets, in a fixed order, or None."""
    if not settings.enabled:
        return None
    if settings.open_for_detractors and facts.group == "low":
        return Match(CaseReason.DETRACTOR)
    if settings.open_for_passives and facts.group == "middle":
        return Match(CaseReason.PASSIVE)
    drop = _score_drop(settings, facts)
    if drop is not None:
        return drop
    keyword = matching_keyword(settings.keywords, facts.comment)
    if keyword is not None:
        return Match(CaseReason.KEYWORD, keyword)
    themes = sorted(facts.theme_ids & set(settings.theme_ids))
    if themes:
        return Match(CaseReason.THEME, ",".join(str(t) for t in themes))
    return None


def _score_drop(settings: LoopSettings, facts: Facts) -> Match | None:
    if not settings.score_drop or facts.previous_score is None:
        return None
    fall = facts.previous_score - facts.score
    if fall >= settings.score_drop:
        return Match(CaseReason.SCORE_DROP, f"{facts.previous_score}→{facts.score}")
    return None


def matching_keyword(keywords: list[str], comment: str) -> str | None:
    """The first keyword found at the start of a word of the comment (case-insensitive).

    Start-of-word rather than whole-word: "refund" also finds "refunds", and a
    Finnish stem such as "palautu" finds "palautus" and "palautuksen".
    """
    if not comment:
        return None
    text = comment.casefold()
    for keyword in keywords:
        needle = keyword.strip().casefold()
        if needle and re.search(r"(?<!\w)" + re.escape(needle), text):
            return keyword.strip()
    return None


def facts_for(response: Response, settings: LoopSettings) -> Facts:
    """The answer's facts; the queries run only for rules that are switched on."""
    previous = None
    if settings.score_drop and response.contact_id is not None:
        previous = (
            Response.objects.filter(
                contact_id=response.contact_id,
                survey_id=response.survey_id,
                created_at__lt=response.created_at,
            )
            .exclude(pk=response.pk)
            .order_by("-created_at")
            .values_list("score", flat=True)
            .first()
        )
    theme_ids: frozenset[int] = frozenset()
    if settings.theme_ids and response.comment:
        theme_ids = _chosen_themes_mentioned(response, settings.theme_ids)
    return Facts(
        group=score_group(response.survey, response.score),
        score=response.score,
        comment=response.comment,
        previous_score=previous,
        theme_ids=theme_ids,
    )


def _chosen_themes_mentioned(response: Response, chosen: list[int]) -> frozenset[int]:
    """The chosen theme ids the answer mentions; a chosen theme merged since counts
    through the theme it was merged into."""
    from kaiku.themes.models import ResponseTheme, Theme  # themes is optional for the loop

    mentioned = set(
        ResponseTheme.objects.filter(response=response, removed=False).values_list(
            "theme_id", flat=True
        )
    )
    merged = dict(
        Theme.objects.filter(pk__in=chosen, merged_into__isnull=False).values_list(
            "pk", "merged_into_id"
        )
    )
    return frozenset(t for t in chosen if t in mentioned or merged.get(t) in mentioned)
