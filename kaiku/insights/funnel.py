"""The response funnel: invited → delivered → opened → answered, per channel, in one query.

Invitations exist for emailed surveys only; answers from links, widgets, kiosks and the API
have no invitation, so their rows show answers alone. Score-group and property filters do not
apply to invitations (an unanswered invitation has neither), only the dates and language.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from kaiku import metrics
from kaiku.insights.queries.filters import ResponseFilter
from kaiku.insights.queries.grouped import Counts, Scope
from kaiku.surveys.models import Invitation, InvitationStatus

THROTTLED = "throttled"  # kaiku.surveys.throttling's skip reason


@dataclass(frozen=True)
class FunnelRow:
    channel: str
    invited: int | None  # None: the channel has no invitations
    delivered: int | None
    opened: int | None
    answered: int
    skipped_throttled: int | None
    skipped_other: int | None

    @property
    def rate(self) -> float | None:
        if not self.delivered:
            return None
        return metrics.round_half_up(100.0 * min(self.answered, self.delivered) / self.delivered, 1)

    @property
    def rate_ci(self) -> list[float] | None:
        if not self.delivered:
            return None
        low, high = metrics.wilson_interval(min(self.answered, self.delivered), self.delivered)
        return [metrics.round_half_up(100 * low, 1), metrics.round_half_up(100 * high, 1)]


def invitation_counts(scope: Scope, flt: ResponseFilter) -> dict[str, int]:
    start, end = flt.utc_bounds(scope.zone)
    invitations = Invitation.objects.filter(
        workspace=scope.workspace,
        survey__in=[s.pk for s in scope.surveys],
        send_at__gte=start,
        send_at__lt=end,
    )
    if flt.languages:
        invitations = invitations.filter(language__in=flt.languages)
    skipped = Q(status=InvitationStatus.SKIPPED)
    not_invited = Q(status__in=[InvitationStatus.SKIPPED, InvitationStatus.CANCELLED])
    return invitations.order_by().aggregate(
        invited=Count("pk", filter=~not_invited),
        delivered=Count("pk", filter=Q(sent_at__isnull=False) & ~Q(status=InvitationStatus.FAILED)),
        opened=Count("pk", filter=Q(opened_at__isnull=False) | Q(responded_at__isnull=False)),
        answered=Count("pk", filter=Q(responded_at__isnull=False)),
        skipped_throttled=Count("pk", filter=skipped & Q(status_reason=THROTTLED)),
        skipped_other=Count("pk", filter=skipped & ~Q(status_reason=THROTTLED)),
    )


def funnel(scope: Scope, flt: ResponseFilter, by_channel: Counts) -> list[FunnelRow]:
    """Email first (from invitations), then every other channel that has answers."""
    rows = []
    if not flt.channels or "email" in flt.channels:
        c = invitation_counts(scope, flt)
        rows.append(
            FunnelRow(
                "email",
                c["invited"],
                c["delivered"],
                c["opened"],
                c["answered"],
                c["skipped_throttled"],
                c["skipped_other"],
            )
        )
    for channel, hist in sorted(by_channel.items(), key=lambda kv: str(kv[0])):
        if channel and channel != "email":
            rows.append(FunnelRow(str(channel), None, None, None, sum(hist), None, None))
    return rows
