"""Alerts about cases: a new case, an assignment, an overdue reminder, an escalation.

Each alert is claimed on the case first (alerted_at, reminded_at, escalated_at
moved from null by a conditional update), so with many workers and retried jobs
it goes once. The messages go by email and to Slack-compatible webhooks (the
member's own and the survey's team channel), each attempt recorded by
kaiku.loop.delivery. Members choose what they get (AlertPreference); a member
without a row gets DEFAULTS.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kaiku.accounts.models import MANAGER_ROLES, Membership
from kaiku.loop.delivery import About, Email, post_to_webhook, send_alert_email
from kaiku.loop.models import (
    ACTIVE_STATUSES,
    AlertKind,
    Case,
    CaseEvent,
    EventKind,
    LoopSettings,
)

SWEEP_BATCH = 500


@dataclass(frozen=True)
class Prefs:
    new_case_email: bool
    overdue_email: bool
    drop_email: bool
    digest: bool
    slack_webhook_url: str


def defaults(membership: Membership) -> Prefs:
    """Case emails on for everyone; drop alerts for owners and admins; digests opt-in."""
    return Prefs(
        new_case_email=True,
        overdue_email=True,
        drop_email=membership.role in MANAGER_ROLES,
        digest=False,
        slack_webhook_url="",
    )


def prefs_for(membership: Membership) -> Prefs:
    stored = getattr(membership, "alert_preference", None)
    if stored is None:
        return defaults(membership)
    return Prefs(
        new_case_email=stored.new_case_email,
        overdue_email=stored.overdue_email,
        drop_email=stored.drop_email,
        digest=stored.digest,
        slack_webhook_url=stored.slack_webhook_url,
    )


def members(workspace_id: int, *, managers_only: bool = False) -> list[Membership]:
    rows = Membership.objects.select_related("user", "alert_preference").filter(
        workspace_id=workspace_id, user__is_active=True
    )
    if managers_only:
        rows = rows.filter(role__in=MANAGER_ROLES)
    return list(rows.order_by("pk"))


def case_url(case: Case) -> str:
    path = reverse("loop:case", kwargs={"workspace_slug": case.workspace.slug, "case_id": case.pk})
    return settings.SITE_URL + path


def _load(case_id: int) -> Case | None:
    return (
        Case.objects.select_related("workspace", "survey", "response", "contact", "assignee")
        .filter(pk=case_id)
        .first()
    )


def _assignee_membership(case: Case) -> Membership | None:
    if case.assignee_id is None:
        return None
    return next((m for m in members(case.workspace_id) if m.user_id == case.assignee_id), None)


def _case_recipients(case: Case) -> list[Membership]:
    """The assignee; nobody assigned: the owners and admins."""
    assignee = _assignee_membership(case)
    return [assignee] if assignee is not None else members(case.workspace_id, managers_only=True)


def send_case_alerts(case_id: int) -> int:
    """The new-case alert (once: claimed by alerted_at); the number of attempts made."""
    claimed = Case.objects.filter(pk=case_id, alerted_at__isnull=True).update(
        alerted_at=timezone.now()
    )
    case = _load(case_id) if claimed else None
    if case is None:
        return 0
    attempts = 0
    for membership in _case_recipients(case):
        attempts += _alert_member(case, membership, AlertKind.NEW_CASE, "case_opened")
    team_url = (
        LoopSettings.objects.filter(survey_id=case.survey_id)
        .values_list("slack_webhook_url", flat=True)
        .first()
    )
    if team_url:
        post_to_webhook(_about(case, AlertKind.NEW_CASE), team_url, case_text(case), case_url(case))
        attempts += 1
    return attempts


def send_assignment_alert(case_id: int, user_id: int) -> int:
    """Tell a member a case was given to them (if it still is theirs)."""
    case = _load(case_id)
    if case is None or case.assignee_id != user_id or case.status not in ACTIVE_STATUSES:
        return 0
    membership = _assignee_membership(case)
    if membership is None:
        return 0
    return _alert_member(case, membership, AlertKind.NEW_CASE, "case_assigned")


def _alert_member(case: Case, membership: Membership, kind: str, template: str) -> int:
    prefs = prefs_for(membership)
    about = _about(case, kind, membership.user_id)
    attempts = 0
    if prefs.new_case_email:
        send_alert_email(about, _member_email(case, membership, template))
        attempts += 1
    if prefs.slack_webhook_url:
        text = case_text(case, membership.user.language)
        post_to_webhook(about, prefs.slack_webhook_url, text, case_url(case))
        attempts += 1
    return attempts


def _about(case: Case, kind: str, recipient_id: int | None = None) -> About:
    return About(case.workspace_id, kind, case.pk, case.survey_id, recipient_id)


def _member_email(case: Case, membership: Membership, template: str) -> Email:
    context: dict[str, Any] = {
        "case": case,
        "workspace": case.workspace,
        "survey": case.survey,
        "answer": case.response,
        "contact": case.contact,
        "url": case_url(case),
        "member": membership.user,
    }
    return Email(membership.user.email, template, context, membership.user.language)


def case_text(case: Case, language: str | None = None) -> str:
    """One line for a chat channel: survey, score, who, comment (shortened)."""
    with translation.override(language or settings.LANGUAGE_CODE):
        who = str(case.contact) if case.contact else _("an anonymous respondent")
        comment = case.response.comment.strip()
        if len(comment) > 300:
            comment = comment[:300] + "…"
        text = _("New case in %(survey)s: %(score)s from %(who)s") % {
            "survey": case.survey.name,
            "score": case.score,
            "who": who,
        }
        return f"{text}\n> {comment}" if comment else text


# --- Overdue: one reminder to the assignee, then an escalation to the admins ------------


def sweep_overdue(now: datetime | None = None) -> tuple[int, int]:
    """Claim due reminders and escalations and queue their emails: (reminders, escalations).

    Run by the workers every few minutes. A case gets one reminder when it
    passes its due time, and one escalation KAIKU_LOOP_ESCALATION_HOURS later
    if it is still not resolved; a reopened case may get both again.
    """
    now = now or timezone.now()
    active = Case.objects.filter(status__in=ACTIVE_STATUSES, escalated_at__isnull=True)
    due = active.filter(reminded_at__isnull=True, due_at__lte=now)
    late = now - timedelta(hours=settings.LOOP_ESCALATION_HOURS)
    overdue_long = active.filter(reminded_at__isnull=False, due_at__lte=late)
    reminders = _claim_each(due, "reminded_at", now, EventKind.REMINDED)
    escalations = _claim_each(overdue_long, "escalated_at", now, EventKind.ESCALATED)
    return reminders, escalations


def _claim_each(cases: QuerySet[Case], field: str, now: datetime, kind: str) -> int:
    from kaiku.loop.tasks import send_escalation, send_overdue_reminder

    job = send_overdue_reminder if field == "reminded_at" else send_escalation
    count = 0
    for case_id in cases.order_by("due_at").values_list("pk", flat=True)[:SWEEP_BATCH]:
        with transaction.atomic(durable=True):
            claimed = Case.objects.filter(
                pk=case_id, status__in=ACTIVE_STATUSES, **{f"{field}__isnull": True}
            ).update(**{field: now})
            if claimed:
                CaseEvent.objects.create(case_id=case_id, via="system", kind=kind)
                transaction.on_commit(partial(job.enqueue, case_id), robust=True)
                count += 1
    return count


def send_overdue_reminder(case_id: int) -> int:
    case = _load(case_id)
    if case is None or case.status not in ACTIVE_STATUSES:
        return 0
    sent = 0
    for membership in _case_recipients(case):
        if prefs_for(membership).overdue_email:
            email = _member_email(case, membership, "overdue_reminder")
            send_alert_email(_about(case, AlertKind.REMINDER, membership.user_id), email)
            sent += 1
    return sent


def send_escalation(case_id: int) -> int:
    case = _load(case_id)
    if case is None or case.status not in ACTIVE_STATUSES:
        return 0
    sent = 0
    for membership in members(case.workspace_id, managers_only=True):
        if prefs_for(membership).overdue_email:
            email = _member_email(case, membership, "escalation")
            send_alert_email(_about(case, AlertKind.ESCALATION, membership.user_id), email)
            sent += 1
    return sent
