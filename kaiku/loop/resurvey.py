"""Re-surveys: N days after a case is resolved, the contact gets a fresh invitation.

The invitation is an ordinary triggered one (kaiku.surveys.sending), so the
throttling rules apply: a contact who unsubscribed, bounced, was asked
recently or already answered this survey inside its recontact window gets a
`skipped` invitation with the reason, and the case shows it. Their next answer
to the survey becomes the case's new score (kaiku.loop.opening.link_recovery).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from kaiku.loop.actions import emit_case_event
from kaiku.loop.models import Case, CaseEvent, EventKind
from kaiku.surveys.sending import SurveyInactive, create_triggered_invitation

logger = logging.getLogger(__name__)

SWEEP_BATCH = 200


def sweep_resurveys(now: datetime | None = None) -> int:
    """Invite the contacts whose re-survey is due; the number of cases handled."""
    now = now or timezone.now()
    due = Case.objects.filter(resurvey_at__lte=now).order_by("resurvey_at")
    handled = 0
    for case_id, due_at in due.values_list("pk", "resurvey_at")[:SWEEP_BATCH]:
        # Claimed by clearing the due time: another worker's sweep skips it.
        if Case.objects.filter(pk=case_id, resurvey_at=due_at).update(resurvey_at=None):
            resurvey_case(case_id)
            handled += 1
    return handled


def resurvey_case(case_id: int) -> str:
    """Create the case's re-survey invitation; its status (or `inactive`, `no_contact`)."""
    case = Case.objects.select_related("survey__workspace", "contact").filter(pk=case_id).first()
    if case is None:
        return "gone"
    if case.contact is None:
        _note(case, "no_contact")
        return "no_contact"
    try:
        invitation, _created = create_triggered_invitation(
            case.survey, case.contact, idempotency_key=f"loop-case-{case.pk}-resurvey"
        )
    except SurveyInactive:
        _note(case, "inactive")
        return "inactive"
    outcome = invitation.status_reason or invitation.status
    with transaction.atomic(durable=True):
        Case.objects.filter(pk=case.pk).update(
            resurvey_invitation=invitation, updated_at=timezone.now()
        )
        CaseEvent.objects.create(
            case=case, via="system", kind=EventKind.RESURVEY, to_value=outcome[:200]
        )
        emit_case_event(case, "case.updated")
    logger.info("loop: re-survey for case %s: %s", case.pk, outcome)
    return str(invitation.status)


def _note(case: Case, outcome: str) -> None:
    CaseEvent.objects.create(case=case, via="system", kind=EventKind.RESURVEY, to_value=outcome)
