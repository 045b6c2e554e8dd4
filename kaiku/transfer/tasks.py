"""Background jobs of imports: run an uploaded file, detect imported comments' languages.

Jobs take ids, re-read their rows and are safe to run twice (an import run is
claimed with a conditional update; a second worker finds it taken and stops).
"""

from __future__ import annotations

import logging

from django_tasks import task

from kaiku.responses.language import detect_comment_language
from kaiku.responses.models import Channel, Response

logger = logging.getLogger(__name__)


@task()
def run_import_job(import_run_id: int) -> None:
    from kaiku.transfer.imports import execute_import_run

    execute_import_run(import_run_id)


@task()
def detect_import_languages(after_id: int, upto_id: int) -> None:
    """The comment language of imported answers with ids in (after_id, upto_id].

    What process_response does for live answers; imports skip process_response
    (no webhooks or alerts for history), so this job does this one part.
    """
    responses = (
        Response.objects.filter(
            pk__gt=after_id, pk__lte=upto_id, channel=Channel.IMPORT, comment_language=""
        )
        .exclude(comment="")
        .select_related("workspace")
        .only("id", "comment", "language", "comment_language", "workspace__languages")
        .order_by("pk")
    )
    for response in responses.iterator(chunk_size=500):
        language = detect_comment_language(
            response.comment, response.workspace.languages, response.language
        )
        if language:
            Response.objects.filter(pk=response.pk).update(comment_language=language)
