"""Recurring waves: "survey each eligible contact every N days", unattended.

`run_due_waves` runs hourly in the workers (kaiku.lib.periodic); each wave runs
at most once per day in its workspace's time zone, claimed with a conditional
update of `last_run_on`, so two workers or a second tick the same day do nothing.
A run picks the contacts that match the wave's filter, may be invited now
(throttling: unsubscribes, bounces, the recontact window) and have had no
invitation to this survey for `every_days`, least recently surveyed first, at
most `daily_cap` of them, and schedules them spread over the rest of the
working day (WORK_START–WORK_END local time, Monday to Friday). A run that
finds the working day over waits for the next one, so a day's cap is never
sent in the evening or twice in one window.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

from django.db.models import Exists, F, Max, OuterRef, Q
from django.utils import timezone

from kaiku.contacts.filters import FilterError, filter_contacts
from kaiku.lib.periodic import periodic
from kaiku.surveys.models import Invitation, InvitationStatus, Survey, Wave
from kaiku.surveys.sending import SendSummary, SurveyInactive, schedule_invitations
from kaiku.surveys.throttling import partition

logger = logging.getLogger(__name__)

WORK_START = time(9, 0)
WORK_END = time(17, 0)
WEEKEND = (5, 6)  # Saturday, Sunday


def working_window(wave: Wave, now: datetime) -> tuple[date, datetime, datetime] | None:
    """(local date, start, end) of what is left of today's working hours, or None."""
    zone = wave.workspace.tzinfo
    local = now.astimezone(zone)
    if local.weekday() in WEEKEND:
        return None
    start = datetime.combine(local.date(), WORK_START, tzinfo=zone)
    end = datetime.combine(local.date(), WORK_END, tzinfo=zone)
    if local >= end:
        return None
    return local.date(), max(start, now), end


def claim_run(wave: Wave, today: date) -> bool:
    """True for the one caller that runs the wave today."""
    claimed = (
        Wave.objects.filter(pk=wave.pk, is_active=True)
        .filter(Q(last_run_on__isnull=True) | Q(last_run_on__lt=today))
        .update(last_run_on=today)
    )
    return claimed == 1


def wave_candidates(wave: Wave, now: datetime, today: date) -> list[int]:
    """Ids of the contacts this run invites, least recently surveyed first, capped.

    "Every N days" counts local calendar days: invited on day D, a contact's
    turn comes again on day D + N whatever the hour each run happened at.
    """
    survey: Survey = wave.survey
    matching = filter_contacts(wave.workspace, wave.contact_filter)
    eligible, _skipped = partition(survey, matching, now)
    since = datetime.combine(
        today - timedelta(days=wave.every_days - 1), time.min, tzinfo=wave.workspace.tzinfo
    )
    recent = Invitation.objects.filter(
        contact=OuterRef("pk"), survey=survey, created_at__gte=since
    ).exclude(status=InvitationStatus.CANCELLED)
    ordered = (
        eligible.filter(~Exists(recent))
        .annotate(last_surveyed=Max("invitations__sent_at"))
        .order_by(F("last_surveyed").asc(nulls_first=True), "pk")
        .values_list("pk", flat=True)
    )
    if wave.daily_cap is not None:
        ordered = ordered[: wave.daily_cap]
    return list(ordered)


def run_wave(wave: Wave, now: datetime | None = None) -> SendSummary | None:
    """Run one wave if it is due today; None when it is not (or someone else ran it)."""
    now = now or timezone.now()
    window = working_window(wave, now)
    if window is None or not wave.is_active or not wave.survey.is_active:
        return None
    today, start, end = window
    if not claim_run(wave, today):
        return None
    try:
        ids = wave_candidates(wave, now, today)
    except FilterError:
        logger.warning("wave %s has an invalid contact filter; skipped", wave.pk)
        return None
    contacts = wave.workspace.contacts.filter(pk__in=ids)
    try:
        summary = schedule_invitations(
            wave.survey, contacts, send_at=start, spread_until=end, wave=wave
        )
    except SurveyInactive:
        return None
    logger.info("wave %s scheduled %d invitations", wave.pk, summary.scheduled)
    return summary


@periodic(every=timedelta(hours=1), name="surveys.run_due_waves")
def run_due_waves(now: datetime | None = None) -> int:
    """Every active wave once per local working day; the invitations scheduled."""
    now = now or timezone.now()
    total = 0
    waves = Wave.objects.filter(is_active=True, survey__is_active=True).select_related(
        "workspace", "survey__workspace"
    )
    for wave in waves:
        summary = run_wave(wave, now)
        if summary is not None:
            total += summary.scheduled
    return total
