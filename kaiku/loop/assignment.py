"""Who gets a new case: round-robin among chosen members, or the member a contact
property names (the account owner), else the survey's fallback member.

Only members who can work cases (owners, admins, agents) are ever chosen: a
viewer or someone who left the workspace is skipped, and the fallback applies.
"""

from __future__ import annotations

from django.db.models import F

from kaiku.accounts.models import Membership, Role, User
from kaiku.contacts.models import Contact
from kaiku.loop.models import AssignmentMode, LoopSettings

WORKER_ROLES = (Role.OWNER, Role.ADMIN, Role.AGENT)


def can_work_cases(membership: Membership) -> bool:
    return membership.role in WORKER_ROLES and membership.user.is_active


def choose_assignee(settings: LoopSettings, contact: Contact | None) -> User | None:
    """The member for a new case. Call inside the transaction that opens the case:
    the round-robin turn moves with the settings row locked."""
    chosen: User | None = None
    if settings.pk is not None and settings.assignment == AssignmentMode.ROUND_ROBIN:
        chosen = _next_in_turn(settings)
    elif settings.assignment == AssignmentMode.PROPERTY:
        chosen = _by_property(settings, contact)
    return chosen or _fallback(settings)


def _next_in_turn(settings: LoopSettings) -> User | None:
    # The lock serialises concurrent openings: each takes the next turn.
    locked = LoopSettings.objects.select_for_update().get(pk=settings.pk)
    members = list(
        locked.assignees.select_related("user")
        .filter(role__in=WORKER_ROLES, user__is_active=True)
        .order_by("pk")
    )
    if not members:
        return None
    member = members[locked.round_robin_next % len(members)]
    LoopSettings.objects.filter(pk=settings.pk).update(round_robin_next=F("round_robin_next") + 1)
    return member.user


def _by_property(settings: LoopSettings, contact: Contact | None) -> User | None:
    if contact is None or not settings.assignee_property:
        return None
    value = contact.properties.get(settings.assignee_property)
    if not isinstance(value, str) or "@" not in value:
        return None
    member = (
        Membership.objects.select_related("user")
        .filter(
            workspace_id=settings.workspace_id,
            user__email__iexact=value.strip(),
            role__in=WORKER_ROLES,
            user__is_active=True,
        )
        .first()
    )
    return member.user if member else None


def _fallback(settings: LoopSettings) -> User | None:
    if settings.fallback_id is None:
        return None
    member = (
        Membership.objects.select_related("user")
        .filter(pk=settings.fallback_id, workspace_id=settings.workspace_id)
        .first()
    )
    return member.user if member and can_work_cases(member) else None


def member_for(workspace_id: int, user_id: int | None) -> Membership | None:
    """The user's membership in the workspace (None for nobody or a former member)."""
    if user_id is None:
        return None
    return (
        Membership.objects.select_related("user")
        .filter(workspace_id=workspace_id, user_id=user_id)
        .first()
    )
