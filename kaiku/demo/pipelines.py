"""Run on the demo's answers what the worker runs on live ones, so the demo opens complete.

The generator bulk-creates history, which no `process_response` job sees: without
this step the Themes pages would say "being recomputed" on the first visit and
the Cases pages would be empty. Both steps are the real code paths and are safe
to run twice (the theme recompute is idempotent, a case is one per answer).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from kaiku.accounts.models import Workspace
from kaiku.loop.models import Case
from kaiku.loop.opening import MAX_ANSWER_AGE, after_answer
from kaiku.responses.models import Response
from kaiku.themes.actions import ensure_starter_taxonomy
from kaiku.themes.tasks import recompute_workspace


@dataclass(frozen=True)
class PipelineResult:
    themed_answers: int
    cases: int


def run_pipelines(workspace: Workspace) -> PipelineResult:
    """Starter themes assigned to every comment; the loop run on the last week's answers."""
    ensure_starter_taxonomy(workspace)
    totals = recompute_workspace(workspace.pk) or {}
    # Older answers are history to the loop (MAX_ANSWER_AGE): only these can open a case.
    recent = Response.objects.filter(
        workspace=workspace, created_at__gte=timezone.now() - MAX_ANSWER_AGE
    ).order_by("created_at")
    for response_id in recent.values_list("pk", flat=True):
        after_answer(response_id)
    return PipelineResult(
        themed_answers=totals.get("answers", 0),
        cases=Case.objects.filter(workspace=workspace).count(),
    )
