"""Daily messages: the significant-drop alert and each member's digest.

Digests are opt-in per member (AlertPreference.digest) and go once per local
day from KAIKU_LOOP_DAILY_HOUR: the preference row's `last_digest_on` is moved
to today by a conditional update before anything is sent, so two workers never
send the same digest. The digest covers the previous local day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from kaiku.accounts.models import Membership, Role
from kaiku.insights.queries import empty_histogram, score_histograms
from kaiku.insights.queries.filters import local_midnight
from kaiku.loop.alerts import members, prefs_for
from kaiku.loop.delivery import About, Email, post_to_webhook, send_alert_email
from kaiku.loop.drops import check_workspace
from kaiku.loop.models import (
    ACTIVE_STATUSES,
    AlertKind,
    AlertPreference,
    Case,
    DropCheck,
    LoopSettings,
)
from kaiku.metrics import HIDE_N, ces_stats, csat_stats, nps_stats
from kaiku.surveys.models import Survey

DIGEST_CASES = 10


def _site(name: str, **kwargs: Any) -> str:
    return settings.SITE_URL + reverse(name, kwargs=kwargs)


# --- Significant drops -------------------------------------------------------------------


def send_drop_alert(survey_id: int, day: date) -> int:
    """Email the members who want drop alerts and post to the survey's team channel."""
    survey = Survey.objects.select_related("workspace").filter(pk=survey_id).first()
    checks = list(DropCheck.objects.filter(survey_id=survey_id, day=day, significant_drop=True))
    if survey is None or not checks:
        return 0
    url = _site("insights:dashboard", workspace_slug=survey.workspace.slug, survey_id=survey.pk)
    context = {"survey": survey, "workspace": survey.workspace, "checks": checks, "url": url}
    sent = 0
    for membership in members(survey.workspace_id):
        if prefs_for(membership).drop_email:
            about = About(survey.workspace_id, AlertKind.DROP, None, survey.pk, membership.user_id)
            email = Email(membership.user.email, "drop_alert", context, membership.user.language)
            send_alert_email(about, email)
            sent += 1
    team_url = (
        LoopSettings.objects.filter(survey_id=survey_id)
        .values_list("slack_webhook_url", flat=True)
        .first()
    )
    if team_url:
        about = About(survey.workspace_id, AlertKind.DROP, None, survey.pk)
        post_to_webhook(about, team_url, drop_text(survey, checks), url)
        sent += 1
    return sent


def drop_text(survey: Survey, checks: list[DropCheck]) -> str:
    parts = [
        f"{c.window_days} d: {c.value_previous:.1f} → {c.value_recent:.1f} "
        f"({c.delta:+.1f}, p = {c.p_value:.3f}, n = {c.n_recent})"
        for c in checks
        if c.value_previous is not None and c.value_recent is not None and c.delta is not None
    ]
    return f"Significant drop in {survey.name}: " + "; ".join(parts)


# --- Digests -----------------------------------------------------------------------------


def send_due_digests(now: datetime | None = None) -> int:
    """Claim today's digest of every opted-in member past the daily hour; digests queued."""
    from kaiku.loop.tasks import send_digest

    now = now or timezone.now()
    queued = 0
    wanted = AlertPreference.objects.filter(digest=True).select_related("membership__workspace")
    for pref in wanted:
        local = now.astimezone(pref.membership.workspace.tzinfo)
        today = local.date()
        if local.hour < settings.LOOP_DAILY_HOUR or pref.last_digest_on == today:
            continue
        with transaction.atomic(durable=True):
            # exclude() keeps rows whose last_digest_on is NULL (never sent).
            claimed = (
                AlertPreference.objects.filter(pk=pref.pk, digest=True)
                .exclude(last_digest_on=today)
                .update(last_digest_on=today)
            )
            if claimed:
                transaction.on_commit(
                    partial(send_digest.enqueue, pref.membership_id, today.isoformat()),
                    robust=True,
                )
                queued += 1
    return queued


@dataclass
class Digest:
    day: date  # the day the digest covers (yesterday, locally)
    answers: list[dict[str, Any]] = field(default_factory=list)
    new_cases: list[Case] = field(default_factory=list)
    new_case_count: int = 0
    overdue_cases: list[Case] = field(default_factory=list)
    overdue_count: int = 0
    drops: list[DropCheck] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.answers or self.new_case_count or self.overdue_count or self.drops)


def build_digest(membership: Membership, today: date, now: datetime | None = None) -> Digest:
    """What a member's digest of `today` says: yesterday's answers and cases, overdue, drops."""
    now = now or timezone.now()
    workspace = membership.workspace
    check_workspace(workspace, today)  # today's drop checks, if the drop job has not run yet
    since = local_midnight(today - timedelta(days=1), workspace.tzinfo)
    until = local_midnight(today, workspace.tzinfo)
    digest = Digest(day=today - timedelta(days=1))
    digest.answers = _answer_lines(membership, since, until)
    cases = _visible_cases(membership)
    new = cases.filter(created_at__gte=since, created_at__lt=until)
    digest.new_case_count = new.count()
    digest.new_cases = list(new.select_related("survey", "contact")[:DIGEST_CASES])
    overdue = cases.filter(status__in=ACTIVE_STATUSES, due_at__lt=now).order_by("due_at")
    digest.overdue_count = overdue.count()
    digest.overdue_cases = list(overdue.select_related("survey", "contact")[:DIGEST_CASES])
    digest.drops = list(
        DropCheck.objects.filter(
            survey__workspace=workspace, day=today, significant_drop=True
        ).select_related("survey")
    )
    return digest


def _visible_cases(membership: Membership) -> QuerySet[Case]:
    """An agent's digest lists their cases and the unassigned ones; others see all."""
    cases = Case.objects.filter(workspace_id=membership.workspace_id)
    if membership.role == Role.AGENT:
        cases = cases.filter(Q(assignee_id=membership.user_id) | Q(assignee__isnull=True))
    return cases


def _answer_lines(membership: Membership, since: datetime, until: datetime) -> list[dict[str, Any]]:
    histograms = score_histograms(membership.workspace, since, until)
    surveys = Survey.objects.filter(
        workspace_id=membership.workspace_id, pk__in=[k[0] for k in histograms]
    )
    lines = []
    for survey in surveys.order_by("name"):
        hist = histograms.get((survey.pk,), empty_histogram())
        n = sum(hist)
        lines.append(
            {"survey": survey, "n": n, "figure": _figure(survey, hist) if n >= HIDE_N else None}
        )
    return lines


def _figure(survey: Survey, hist: list[int]) -> str:
    if survey.kind == "nps":
        return f"NPS {nps_stats(hist).nps:.1f}"
    if survey.kind == "csat":
        return f"CSAT {csat_stats(hist, survey.scale_min, survey.scale_max).csat:.1f} %"
    return f"CES {ces_stats(hist, survey.scale_min, survey.scale_max).mean:.2f}"


def send_digest(membership_id: int, today: date) -> bool:
    membership = (
        Membership.objects.select_related("workspace", "user", "alert_preference")
        .filter(pk=membership_id, user__is_active=True)
        .first()
    )
    if membership is None or not prefs_for(membership).digest:
        return False
    digest = build_digest(membership, today)
    workspace = membership.workspace
    context = {
        "digest": digest,
        "workspace": workspace,
        "member": membership.user,
        "inbox_url": _site("loop:inbox", workspace_slug=workspace.slug),
        "prefs_url": _site("loop:preferences", workspace_slug=workspace.slug),
        "site_url": settings.SITE_URL,
    }
    about = About(workspace.pk, AlertKind.DIGEST, recipient_id=membership.user_id)
    email = Email(membership.user.email, "digest", context, membership.user.language)
    send_alert_email(about, email)
    return True
