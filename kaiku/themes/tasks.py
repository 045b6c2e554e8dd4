"""Background work for themes: re-theme every comment of a workspace after a taxonomy change.

Takes the workspace id, re-reads everything, is idempotent (running it twice
writes nothing the second time) and works in batches of BATCH answers, each
costing three queries and one short transaction, so a large workspace never
holds a long lock or loads all its comments at once.
"""

from __future__ import annotations

import logging

from django_tasks import task

from kaiku.accounts.models import Workspace
from kaiku.responses.models import Response

logger = logging.getLogger(__name__)

BATCH = 1000


@task()
def recompute_themes(workspace_id: int) -> dict[str, int] | None:
    return recompute_workspace(workspace_id)


def recompute_workspace(workspace_id: int, batch: int = BATCH) -> dict[str, int] | None:
    """The unit of work of the job: (re)assign automatic themes to every comment."""
    from kaiku.themes.assignment import (
        apply_auto_themes,
        build_matcher,
        detect_missing_languages,
        themes_for,
    )
    from kaiku.themes.models import ResponseTheme, Source, Taxonomy

    workspace = Workspace.objects.filter(pk=workspace_id).only("id", "languages").first()
    taxonomy = Taxonomy.objects.filter(workspace_id=workspace_id).first()
    if workspace is None or taxonomy is None:
        logger.info("recompute_themes: workspace %s or its taxonomy is gone", workspace_id)
        return None
    version = taxonomy.version
    matcher = build_matcher(workspace_id)
    totals = {"answers": 0, "added": 0, "deleted": 0}
    last_id = 0
    while True:
        rows = list(
            Response.objects.filter(workspace_id=workspace_id, pk__gt=last_id)
            .exclude(comment="")
            .order_by("pk")
            .values("pk", "comment", "comment_language", "language", "survey__default_language")[
                :batch
            ]
        )
        if not rows:
            break
        last_id = int(rows[-1]["pk"])
        answers = detect_missing_languages(rows, list(workspace.languages))
        added, deleted = apply_auto_themes(themes_for(matcher, answers))
        totals["answers"] += len(rows)
        totals["added"] += added
        totals["deleted"] += deleted
    # Answers whose comment was emptied keep no automatic theme.
    totals["deleted"] += ResponseTheme.objects.filter(
        response__workspace_id=workspace_id, response__comment="", source=Source.AUTO
    ).delete()[0]
    Taxonomy.objects.filter(pk=taxonomy.pk, applied_version__lt=version).update(
        applied_version=version
    )
    logger.info("recompute_themes: workspace %s v%s %s", workspace_id, version, totals)
    return totals
