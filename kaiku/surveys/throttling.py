"""Who may be invited now: contact fatigue, unsubscribes, bounces.

One rule set, two shapes: `skip_reason()` for one contact (the API trigger)
and `annotate_skip_reasons()` / `partition()` for a whole audience, which
answer in two queries however many contacts there are (a 10k send must not
run 10k lookups).

The reasons, checked in this order:

- `no_email`: the contact has no address.
- `unsubscribed`: the contact unsubscribed (from any survey: it is per contact).
- `bounced`: an earlier email to the address was rejected permanently.
- `already_answered`: the contact answered *this* survey inside the recontact window.
- `throttled`: inside the window the contact was sent an invitation by any of
  the workspace's surveys, has one waiting to be sent, or answered another survey
  (the widget and the public link count too: it is the person's fatigue).

The window is the survey's `recontact_days`, else the workspace's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Case, CharField, Count, Exists, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from kaiku.contacts.models import Contact
from kaiku.responses.models import Response
from kaiku.surveys.models import PENDING_STATUSES, Invitation, Survey

NO_EMAIL = "no_email"
UNSUBSCRIBED = "unsubscribed"
BOUNCED = "bounced"
ALREADY_ANSWERED = "already_answered"
THROTTLED = "throttled"
# In the order they are checked; every send summary counts each of them.
SKIP_REASONS = (NO_EMAIL, UNSUBSCRIBED, BOUNCED, ALREADY_ANSWERED, THROTTLED)
# The annotation's name; used through this constant because the type checker
# does not see fields added by annotate().
REASON = "skip_reason"


def window_start(survey: Survey, now: datetime) -> datetime:
    return now - timedelta(days=survey.effective_recontact_days)


def _answered_here(survey: Survey, since: datetime) -> QuerySet[Response]:
    return Response.objects.filter(contact=OuterRef("pk"), survey=survey, created_at__gte=since)


def _contacted_recently(survey: Survey, since: datetime) -> tuple[Exists, Exists]:
    """(invited or waiting for an invitation, answered another survey) inside the window."""
    invited = Invitation.objects.filter(contact=OuterRef("pk")).filter(
        Q(sent_at__gte=since) | Q(status__in=PENDING_STATUSES)
    )
    answered_elsewhere = Response.objects.filter(
        contact=OuterRef("pk"), created_at__gte=since
    ).exclude(survey=survey)
    return Exists(invited), Exists(answered_elsewhere)


def annotate_skip_reasons(
    survey: Survey, contacts: QuerySet[Contact], now: datetime | None = None
) -> QuerySet[Contact]:
    """`contacts` of the survey's workspace, each with `skip_reason` (None = may be invited)."""
    now = now or timezone.now()
    since = window_start(survey, now)
    invited, answered_elsewhere = _contacted_recently(survey, since)
    reason = Case(
        When(Q(email__isnull=True) | Q(email=""), then=Value(NO_EMAIL)),
        When(unsubscribed_at__isnull=False, then=Value(UNSUBSCRIBED)),
        When(bounced_at__isnull=False, then=Value(BOUNCED)),
        When(Exists(_answered_here(survey, since)), then=Value(ALREADY_ANSWERED)),
        When(invited | answered_elsewhere, then=Value(THROTTLED)),
        default=None,
        output_field=CharField(null=True),
    )
    # Scoped here too: a filter from elsewhere must never reach another tenant.
    return _plain(survey, contacts).annotate(**{REASON: reason})


def _plain(survey: Survey, contacts: QuerySet[Contact]) -> QuerySet[Contact]:
    """The audience as `id IN (subquery)`: whatever joins, DISTINCT, ordering or
    annotations the caller's filter has cannot skew the GROUP BY of the summary."""
    if not contacts.query.is_sliced:
        contacts = contacts.order_by()
    ids = contacts.values("pk")
    return Contact.objects.filter(workspace_id=survey.workspace_id, pk__in=ids)


def count_skip_reasons(annotated: QuerySet[Contact]) -> tuple[int, dict[str, int]]:
    """(eligible, {reason: count}) of an annotated queryset, in one GROUP BY query."""
    counts = dict.fromkeys(SKIP_REASONS, 0)
    eligible = 0
    rows = annotated.order_by().values(REASON).annotate(n=Count("id"))
    for row in rows:
        if row[REASON] is None:
            eligible = row["n"]
        else:
            counts[row[REASON]] = row["n"]
    return eligible, counts


def partition(
    survey: Survey, contacts: QuerySet[Contact], now: datetime | None = None
) -> tuple[QuerySet[Contact], dict[str, int]]:
    """(the contacts who may be invited, {reason: count} of those who may not)."""
    annotated = annotate_skip_reasons(survey, contacts, now)
    _eligible, skipped = count_skip_reasons(annotated)
    return annotated.filter(**{f"{REASON}__isnull": True}), skipped


def skip_reason(contact: Contact, survey: Survey, now: datetime | None = None) -> str | None:
    """Why `contact` may not be invited to `survey` now, or None if they may."""
    if contact.workspace_id != survey.workspace_id:
        raise ValueError("The contact and the survey belong to different workspaces.")
    if not contact.email:
        return NO_EMAIL
    if contact.unsubscribed_at is not None:
        return UNSUBSCRIBED
    if contact.bounced_at is not None:
        return BOUNCED
    reason: str | None = (
        annotate_skip_reasons(survey, Contact.objects.filter(pk=contact.pk), now)
        .values_list(REASON, flat=True)
        .first()
    )
    return reason


def can_email(contact: Contact) -> str | None:
    """Why nothing may be emailed to the contact at all (even a reminder), or None."""
    if not contact.email:
        return NO_EMAIL
    if contact.unsubscribed_at is not None:
        return UNSUBSCRIBED
    if contact.bounced_at is not None:
        return BOUNCED
    return None
