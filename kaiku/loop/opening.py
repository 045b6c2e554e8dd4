"""The loop's part of the process_response job: open a case, note a recovery, thank a promoter.

`after_answer(response_id)` runs after every new or changed answer (after its
language and themes are known) and is safe to run twice: a case is one per
answer (unique key), a recovery is claimed by a conditional update, a promoter
email by its PromoterFollowUp row.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from kaiku.loop.actions import emit_case_event
from kaiku.loop.assignment import choose_assignee
from kaiku.loop.models import (
    Case,
    CaseEvent,
    EventKind,
    LoopSettings,
    PromoterAction,
    PromoterFollowUp,
)
from kaiku.loop.rules import Match, evaluate, facts_for, settings_for
from kaiku.responses.models import Channel, Response
from kaiku.responses.pages import score_group

logger = logging.getLogger(__name__)

# Answers older than this when they arrive are history (an API backfill), and
# imports are history by definition: nobody follows up a complaint from 2023.
MAX_ANSWER_AGE = timedelta(days=7)


def after_answer(response_id: int) -> None:
    response = (
        Response.objects.select_related("survey__workspace", "contact")
        .filter(pk=response_id)
        .first()
    )
    if response is None:
        return
    link_recovery(response)
    if not is_history(response):
        open_case_for_response(response)
        schedule_promoter_follow_up(response)


def is_history(response: Response) -> bool:
    return (
        response.channel == Channel.IMPORT or response.created_at < timezone.now() - MAX_ANSWER_AGE
    )


def open_case_for_response(response: Response) -> Case | None:
    """The answer's case: the existing one, a new one if a rule matches, else None."""
    existing = Case.objects.filter(response=response).first()
    if existing is not None:
        return existing
    settings = settings_for(response.survey)
    match = evaluate(settings, facts_for(response, settings))
    if match is None:
        return None
    try:
        return _open(response, settings, match)
    except IntegrityError:
        # A concurrent run of the job opened it first (one case per answer).
        return Case.objects.filter(response=response).first()


def _open(response: Response, settings: LoopSettings, match: Match) -> Case:
    now = timezone.now()
    with transaction.atomic(durable=True):
        assignee = choose_assignee(settings, response.contact)
        case = Case.objects.create(
            workspace_id=response.workspace_id,
            survey=response.survey,
            response=response,
            contact=response.contact,
            reason=match.reason,
            reason_detail=match.detail[:200],
            score=response.score,
            assignee=assignee,
            due_at=now + timedelta(hours=settings.sla_hours) if settings.sla_hours else None,
            created_at=now,
        )
        events = [CaseEvent(case=case, via="system", kind=EventKind.OPENED, to_value=match.reason)]
        if assignee is not None:
            events.append(
                CaseEvent(case=case, via="system", kind=EventKind.ASSIGNED, to_value=assignee.email)
            )
        CaseEvent.objects.bulk_create(events)
        emit_case_event(case, "case.opened")
        from kaiku.loop.tasks import send_case_alerts

        transaction.on_commit(partial(send_case_alerts.enqueue, case.pk), robust=True)
    logger.info("loop: opened case %s for response %s (%s)", case.pk, response.pk, match.reason)
    return case


def link_recovery(response: Response) -> None:
    """The contact's first answer to the survey after a case was resolved is its new score.

    `recovered` is set for cases opened for a detractor: a later answer out of
    the low group (7 or more on NPS) is a recovery.
    """
    if response.contact_id is None:
        return
    recovered = score_group(response.survey, response.score) != "low"
    for case in Case.objects.filter(recovery_response=response).exclude(
        recovery_score=response.score
    ):
        # The later answer was edited (24-hour window): follow its score.
        Case.objects.filter(pk=case.pk).update(
            recovery_score=response.score, recovered=_recovered(case, recovered)
        )
    candidates = Case.objects.filter(
        contact_id=response.contact_id,
        survey_id=response.survey_id,
        resolved_at__lt=response.created_at,
        recovery_response__isnull=True,
    ).exclude(response=response)
    for case in candidates.select_related("survey"):
        _claim_recovery(case, response, _recovered(case, recovered))


def _recovered(case: Case, later_out_of_low: bool) -> bool | None:
    was_detractor = score_group(case.survey, case.score) == "low"
    return later_out_of_low if was_detractor else None


def _claim_recovery(case: Case, response: Response, recovered: bool | None) -> None:
    with transaction.atomic(durable=True):
        claimed = Case.objects.filter(pk=case.pk, recovery_response__isnull=True).update(
            recovery_response=response,
            recovery_score=response.score,
            recovered=recovered,
            updated_at=timezone.now(),
        )
        if claimed:
            CaseEvent.objects.create(
                case=case, via="system", kind=EventKind.RECOVERY, to_value=str(response.score)
            )
            emit_case_event(case, "case.updated")


def schedule_promoter_follow_up(response: Response) -> None:
    """The survey's promoter email (review request or referral link), once per answer."""
    settings = LoopSettings.objects.filter(survey_id=response.survey_id).first()
    contact = response.contact
    if (
        settings is None
        or settings.promoter_action == PromoterAction.NONE
        or not settings.promoter_url
        or score_group(response.survey, response.score) != "high"
        or contact is None
        or not contact.can_be_emailed
    ):
        return
    from kaiku.loop.tasks import send_promoter_email

    try:
        with transaction.atomic(durable=True):
            follow_up = PromoterFollowUp.objects.create(
                response=response, action=settings.promoter_action
            )
            transaction.on_commit(partial(send_promoter_email.enqueue, follow_up.pk), robust=True)
    except IntegrityError:
        return  # already scheduled by an earlier run
