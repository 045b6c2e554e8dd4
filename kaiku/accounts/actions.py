"""Writes on workspaces and their teams: the only code that changes memberships.

Each action is one transaction. Rows whose state decides the outcome (the
actor's own membership, the target, the workspace's owners, an invitation) are
re-read under `select_for_update` inside it, so two managers acting at once
cannot, say, demote the last two owners together. On SQLite, transactions
start IMMEDIATE (see settings), which serialises writers the same way.

Emails are enqueued as background jobs after commit: SMTP never runs inside a
transaction or a request, and a rolled-back write sends nothing.

Refusals: `PermissionDenied` when the actor's role does not allow the change
(the view answers 403), `ValidationError` with a `code` when a rule of the data
refuses it (last owner, already a member, expired link…); its message is meant
for the user.
"""

from __future__ import annotations

from functools import partial

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from kaiku.accounts.models import (
    MANAGER_ROLES,
    SUPPORTED_LANGUAGES,
    Membership,
    Role,
    TeamInvitation,
    User,
    Workspace,
)
from kaiku.accounts.roles import can_manage_role
from kaiku.accounts.tasks import send_team_invitation_email

# Slug suffixes tried before giving up; each needs a name clash to be reached.
_SLUG_ATTEMPTS = 50


# --- Workspaces -------------------------------------------------------------------


def create_workspace(name: str, owner: User, *, time_zone: str = "UTC") -> Workspace:
    """A new workspace owned by `owner`, with a unique slug derived from its name.

    Not durable on purpose: the demo command and tests create workspaces inside
    their own transactions. Each attempt is a savepoint, so losing a race for a
    slug to a concurrent request just tries the next suffix.
    """
    base = slugify(name)[:50].strip("-") or "workspace"
    for attempt in range(1, _SLUG_ATTEMPTS + 1):
        slug = base if attempt == 1 else f"{base}-{attempt}"
        if Workspace.objects.filter(slug=slug).exists():
            continue
        try:
            with transaction.atomic():
                workspace = Workspace.objects.create(name=name, slug=slug, time_zone=time_zone)
                Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
        except IntegrityError:
            continue
        return workspace
    raise ValidationError(
        _("Too many workspaces are called %(name)s; choose another name."),
        code="slug_exhausted",
        params={"name": name},
    )


# --- Invitations ----------------------------------------------------------------


def invite_teammate(actor: Membership, email: str, role: str) -> TeamInvitation:
    """Invite `email` to the actor's workspace with `role` and email them a link.

    A new invitation replaces a pending one to the same address (the old link
    stops working), so "invite again" doubles as "resend".
    """
    email = email.strip().lower()
    validate_email(email)
    _validate_role(role)
    with transaction.atomic(durable=True):
        actor = _lock_actor(actor)
        if not can_manage_role(actor.role, role):
            raise PermissionDenied
        if Membership.objects.filter(
            workspace_id=actor.workspace_id, user__email__iexact=email
        ).exists():
            raise ValidationError(
                _("%(email)s is already a member of this workspace."),
                code="already_member",
                params={"email": email},
            )
        pending = TeamInvitation.objects.select_for_update().filter(
            workspace_id=actor.workspace_id, email__iexact=email, accepted_at=None
        )
        if any(not can_manage_role(actor.role, old.role) for old in pending):
            raise ValidationError(
                _("An owner has already invited %(email)s."),
                code="pending_owner_invitation",
                params={"email": email},
            )
        pending.delete()
        invitation = TeamInvitation.objects.create(
            workspace_id=actor.workspace_id, email=email, role=role, invited_by=actor.user
        )
        language = _recipient_language(email)
        transaction.on_commit(partial(send_team_invitation_email.enqueue, invitation.pk, language))
    return invitation


def revoke_invitation(actor: Membership, invitation: TeamInvitation) -> None:
    """Delete a pending invitation: its link then answers "not valid". Idempotent."""
    with transaction.atomic(durable=True):
        actor = _lock_actor(actor)
        if not can_manage_role(actor.role, invitation.role):
            raise PermissionDenied
        mine = TeamInvitation.objects.filter(pk=invitation.pk, workspace_id=actor.workspace_id)
        deleted, _rows = mine.filter(accepted_at=None).delete()
        if not deleted and mine.exists():
            raise ValidationError(
                _("This invitation has already been accepted."), code="already_accepted"
            )


def accept_invitation(invitation: TeamInvitation, user: User) -> Membership:
    """Join the invitation's workspace as `user`, who must own the invited address.

    Accepting twice returns the same membership. Someone who is already a member
    keeps the role they have: an invitation never changes an existing role.
    """
    with transaction.atomic(durable=True):
        return _accept(invitation.pk, user)


def accept_invitation_as_new_user(
    invitation: TeamInvitation, name: str, password: str, language: str
) -> User:
    """Create the invited address's account and join the workspace, in one transaction."""
    with transaction.atomic(durable=True):
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise ValidationError(
                _("An account with this email address already exists. Log in to accept."),
                code="account_exists",
            )
        if language not in SUPPORTED_LANGUAGES:
            language = settings.LANGUAGE_CODE
        try:
            user = User.objects.create_user(
                invitation.email, password, name=name.strip(), language=language
            )
        except IntegrityError:  # the same address signed up a moment ago
            raise ValidationError(
                _("An account with this email address already exists. Log in to accept."),
                code="account_exists",
            ) from None
        _accept(invitation.pk, user)
    return user


def _accept(invitation_id: int, user: User) -> Membership:
    invitation = TeamInvitation.objects.select_for_update().filter(pk=invitation_id).first()
    if invitation is None:
        raise ValidationError(_("This invitation is no longer valid."), code="revoked")
    if invitation.email.lower() != user.email.lower():
        raise ValidationError(
            _("This invitation was sent to another email address."), code="wrong_user"
        )
    existing = Membership.objects.filter(workspace_id=invitation.workspace_id, user=user).first()
    if invitation.accepted_at is not None:
        if existing is not None:
            return existing
        raise ValidationError(_("This invitation has already been used."), code="used")
    if invitation.is_expired():
        raise ValidationError(_("This invitation has expired."), code="expired")
    TeamInvitation.objects.filter(pk=invitation.pk).update(accepted_at=timezone.now())
    if existing is not None:
        return existing
    return Membership.objects.create(
        workspace_id=invitation.workspace_id, user=user, role=invitation.role
    )


# --- Members --------------------------------------------------------------------


def change_role(actor: Membership, member: Membership, role: str) -> Membership:
    """Give `member` a new role, keeping at least one owner."""
    _validate_role(role)
    with transaction.atomic(durable=True):
        actor = _lock_actor(actor)
        member = _lock_member(actor, member.pk)
        if member.role == role:
            return member
        if not (can_manage_role(actor.role, member.role) and can_manage_role(actor.role, role)):
            raise PermissionDenied
        if member.role == Role.OWNER:
            _keep_another_owner(member)
        Membership.objects.filter(pk=member.pk).update(role=role)
        member.role = role
    return member


def remove_member(actor: Membership, member: Membership) -> None:
    """Take `member` out of the workspace, keeping at least one owner."""
    with transaction.atomic(durable=True):
        actor = _lock_actor(actor)
        member = _lock_member(actor, member.pk)
        if not can_manage_role(actor.role, member.role):
            raise PermissionDenied
        if member.role == Role.OWNER:
            _keep_another_owner(member)
        member.delete()


def leave_workspace(membership: Membership) -> None:
    """Any member may leave, except the last owner."""
    with transaction.atomic(durable=True):
        mine = Membership.objects.select_for_update().filter(pk=membership.pk).first()
        if mine is None:
            return
        if mine.role == Role.OWNER:
            _keep_another_owner(mine)
        mine.delete()


# --- Helpers ----------------------------------------------------------------------


def _validate_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationError(
            _("Unknown role: %(role)s"), code="invalid_role", params={"role": role}
        )


def _lock_actor(actor: Membership) -> Membership:
    """The actor's membership as it is now: a demotion a moment ago counts."""
    fresh = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(pk=actor.pk, workspace_id=actor.workspace_id)
        .first()
    )
    if fresh is None or fresh.role not in MANAGER_ROLES:
        raise PermissionDenied
    return fresh


def _lock_member(actor: Membership, member_id: int) -> Membership:
    member = (
        Membership.objects.select_for_update()
        .filter(pk=member_id, workspace_id=actor.workspace_id)
        .first()
    )
    if member is None:
        raise ValidationError(_("This person is no longer a member."), code="gone")
    return member


def _keep_another_owner(member: Membership) -> None:
    # Lock every owner row: two owners demoting each other at once must queue
    # here, and the second one sees that only one owner is left.
    owners = set(
        Membership.objects.select_for_update()
        .filter(workspace_id=member.workspace_id, role=Role.OWNER)
        .values_list("pk", flat=True)
    )
    if not owners - {member.pk}:
        raise ValidationError(
            _("A workspace needs at least one owner. Make someone else an owner first."),
            code="last_owner",
        )


def _recipient_language(email: str) -> str:
    """The account's language if the address has one, else the inviter's current language."""
    user = User.objects.filter(email__iexact=email).only("language").first()
    if user is not None:
        return user.language
    current = (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return current if current in SUPPORTED_LANGUAGES else settings.LANGUAGE_CODE
