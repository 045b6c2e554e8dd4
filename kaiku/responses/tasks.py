"""Background work after an answer is committed.

Jobs take ids, re-fetch, return quietly if the row is gone, and are safe to
run twice: a retried or duplicated job writes the same result again.
"""

from __future__ import annotations

import logging

from django_tasks import task

from kaiku.responses.language import detect_comment_language
from kaiku.responses.models import Response

logger = logging.getLogger(__name__)


@task()
def process_response(response_id: int) -> None:
    """Everything that follows a new or changed answer.

    Now: the comment's language. Later issues add webhooks, cases and themes
    here, each idempotent on its own.
    """
    response = (
        Response.objects.select_related("workspace")
        .only("id", "comment", "language", "comment_language", "workspace__languages")
        .filter(pk=response_id)
        .first()
    )
    if response is None:
        logger.info("process_response: response %s is gone", response_id)
        return
    _detect_language(response)
    from kaiku.themes.assignment import assign_themes  # here: themes imports responses

    assign_themes(response_id)
    from kaiku.loop.opening import after_answer  # here: the loop imports responses

    after_answer(response_id)  # follow-up case, recovery, promoter email (after themes)


def _detect_language(response: Response) -> None:
    comment_language = (
        detect_comment_language(response.comment, response.workspace.languages, response.language)
        if response.comment
        else ""
    )
    if comment_language != response.comment_language:
        # A conditional update, not save(): the respondent may be editing the
        # answer right now and a full save would overwrite their new score.
        Response.objects.filter(pk=response.pk).update(comment_language=comment_language)
