"""Automatic theme assignment: a workspace's taxonomy, compiled once per process.

`assign_themes(response_id)` runs in the process_response job right after an
answer is recorded (and after its comment language is known); the recompute job
runs the same code over every comment when the taxonomy changes. Both write only
`auto` rows: a person's manual tag or untag is never overwritten.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from kaiku.responses.models import Response
from kaiku.themes.models import ResponseTheme, Source, Taxonomy, Theme, ThemeKeyword
from kaiku.themes.starter import FALLBACK_KEY
from kaiku.themes.text.assign import Matcher
from kaiku.themes.text.language import comment_language

logger = logging.getLogger(__name__)

_cache: dict[int, tuple[tuple[int, int, datetime], Matcher]] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class Answer:
    """What assignment needs of a response."""

    id: int
    comment: str
    language: str  # the comment's language, detected or stored


def compiled_matcher(workspace_id: int) -> Matcher | None:
    """The workspace's active themes as a Matcher keyed by theme id (None: no taxonomy yet).

    Two small queries when the taxonomy changed since this process last compiled
    it, one (the version) otherwise.
    """
    # The row's id and time are part of the stamp, not just the version:
    # a taxonomy created again (a restored workspace, a test database flushed with
    # its sequences reset) starts at version 1 too, and a matcher compiled for the
    # old one would link answers to themes that no longer exist.
    stamp = (
        Taxonomy.objects.filter(workspace_id=workspace_id)
        .values_list("pk", "version", "updated_at")
        .first()
    )
    if stamp is None:
        return None
    cached = _cache.get(workspace_id)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    matcher = build_matcher(workspace_id)
    with _cache_lock:
        _cache[workspace_id] = (stamp, matcher)
    return matcher


def build_matcher(workspace_id: int) -> Matcher:
    keywords = ThemeKeyword.objects.filter(
        theme__workspace_id=workspace_id, theme__is_active=True
    ).values_list("theme_id", "language", "phrase")
    fallback = (
        Theme.objects.filter(workspace_id=workspace_id, key=FALLBACK_KEY, is_active=True)
        .values_list("pk", flat=True)
        .first()
    )
    # strict=False: a keyword saved before a validation rule existed must not
    # stop every answer of the workspace from being themed.
    return Matcher(list(keywords), fallback=fallback, strict=False)


def clear_matcher_cache() -> None:
    with _cache_lock:
        _cache.clear()


def assign_themes(response_id: int) -> set[int] | None:
    """Assign the answer's automatic themes; returns the theme ids it now has automatically.

    Safe to run twice; returns None quietly when the response is gone. A
    workspace without a taxonomy gets the starter one first.
    """
    response = (
        Response.objects.select_related("workspace", "survey")
        .only(
            "id",
            "comment",
            "language",
            "comment_language",
            "workspace__languages",
            "survey__default_language",
        )
        .filter(pk=response_id)
        .first()
    )
    if response is None:
        return None
    matcher = compiled_matcher(response.workspace_id)
    if matcher is None:
        from kaiku.themes.actions import ensure_starter_taxonomy

        ensure_starter_taxonomy(response.workspace)
        matcher = compiled_matcher(response.workspace_id)
        assert matcher is not None
    language = comment_language(
        response.comment_language,
        response.comment,
        response.workspace.languages,
        response.language or response.survey.default_language,
    )
    wanted = themes_for(matcher, [Answer(response.pk, response.comment, language)])
    apply_auto_themes(wanted)
    return wanted[response.pk]


def themes_for(matcher: Matcher, answers: Iterable[Answer]) -> dict[int, set[int]]:
    return {
        answer.id: {int(str(t)) for t in matcher.assign(answer.comment, answer.language)}
        if answer.comment
        else set()
        for answer in answers
    }


def apply_auto_themes(wanted: dict[int, set[int]]) -> tuple[int, int]:
    """Make the `auto` rows of these responses exactly `wanted`; (added, deleted).

    Manual rows (tags and untags) are left alone, and an auto theme is not added
    where a manual row for it exists. Three queries per batch, whatever its size.
    """
    if not wanted:
        return 0, 0
    existing: dict[tuple[int, int], tuple[int, str]] = {
        (link.response_id, link.theme_id): (link.pk, link.source)
        for link in ResponseTheme.objects.filter(response_id__in=list(wanted)).only(
            "id", "response_id", "theme_id", "source"
        )
    }
    stale = [
        pk
        for (response_id, theme_id), (pk, source) in existing.items()
        if source == Source.AUTO and theme_id not in wanted[response_id]
    ]
    new = [
        ResponseTheme(response_id=response_id, theme_id=theme_id, source=Source.AUTO)
        for response_id, theme_ids in wanted.items()
        for theme_id in sorted(theme_ids)
        if (response_id, theme_id) not in existing
    ]
    with transaction.atomic():
        deleted = ResponseTheme.objects.filter(pk__in=stale).delete()[0] if stale else 0
        if new:
            try:
                # ignore_conflicts: a concurrent job or a person tagging at the
                # same moment already wrote the row, which then wins.
                ResponseTheme.objects.bulk_create(new, ignore_conflicts=True)
            except IntegrityError:  # the response was deleted meanwhile
                logger.info("themes: a response vanished during assignment")
    return len(new), deleted


def detect_missing_languages(
    rows: Sequence[Mapping[str, Any]], languages: list[str]
) -> list[Answer]:
    """Answers for a batch of response rows, detecting the language where none is stored
    (imports and answers recorded before detection existed), and storing it."""
    answers = []
    detected: list[Response] = []
    for row in rows:
        stored = str(row["comment_language"] or "")
        fallback = str(row["language"] or row["survey__default_language"] or "en")
        language = comment_language(stored, str(row["comment"]), languages, fallback)
        if not stored:
            detected.append(Response(pk=int(str(row["pk"])), comment_language=language))
        answers.append(Answer(int(str(row["pk"])), str(row["comment"]), language))
    if detected:
        Response.objects.bulk_update(detected, ["comment_language"])
    return answers
