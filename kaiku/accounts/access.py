"""Access helpers: the only way views reach workspace-scoped objects.

Each helper scopes its lookup to a workspace the requesting user belongs to.
Anything outside answers 404 (never 403, which would leak that it exists).
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from kaiku.accounts.models import MANAGER_ROLES, Membership, TeamInvitation
from kaiku.surveys.models import Survey


def get_membership(request: HttpRequest, workspace_slug: str) -> Membership:
    """The requesting user's membership in the workspace, or 404."""
    user = request.user
    if isinstance(user, AnonymousUser) or not user.is_authenticated:
        raise Http404
    membership = (
        Membership.objects.select_related("workspace", "user")
        .filter(workspace__slug=workspace_slug, user=user)
        .first()
    )
    if membership is None:
        raise Http404
    return membership


def get_manager_membership(request: HttpRequest, workspace_slug: str) -> Membership:
    """Like get_membership, but only owners and admins pass.

    A member with a lesser role already knows the workspace exists, so they get
    403; outsiders still get 404 from get_membership.
    """
    membership = get_membership(request, workspace_slug)
    if membership.role not in MANAGER_ROLES:
        raise PermissionDenied
    return membership


def get_survey_for_member(membership: Membership, survey_id: int) -> Survey:
    survey = Survey.objects.filter(workspace_id=membership.workspace_id, pk=survey_id).first()
    if survey is None:
        raise Http404
    return survey


def get_member_for_manager(membership: Membership, member_id: int) -> Membership:
    """A member of the manager's workspace (with its user), or 404."""
    if membership.role not in MANAGER_ROLES:
        raise PermissionDenied
    member = (
        Membership.objects.select_related("user")
        .filter(workspace_id=membership.workspace_id, pk=member_id)
        .first()
    )
    if member is None:
        raise Http404
    return member


def get_invitation_for_manager(membership: Membership, invitation_id: int) -> TeamInvitation:
    """A teammate invitation of the manager's workspace, or 404."""
    if membership.role not in MANAGER_ROLES:
        raise PermissionDenied
    invitation = TeamInvitation.objects.filter(
        workspace_id=membership.workspace_id, pk=invitation_id
    ).first()
    if invitation is None:
        raise Http404
    return invitation


def find_team_invitation(token: str) -> TeamInvitation | None:
    """The invitation a public link names, if any.

    Tokens are public by design (whoever holds the emailed link may see the
    workspace's name and the role); the invitation page explains a missing one
    instead of a bare 404.
    """
    return (
        TeamInvitation.objects.select_related("workspace", "invited_by").filter(token=token).first()
    )
