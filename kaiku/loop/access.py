"""Access helpers: cases and categories, only within the member's workspace.

Another workspace's id is a 404, like an id that does not exist. Every member
may read cases; owners and admins work all of them, agents their own and the
unassigned ones, viewers none (403: they know the workspace exists).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from kaiku.accounts.models import MANAGER_ROLES, Membership, Role
from kaiku.loop.models import Case, ResolutionCategory


def get_case_for_member(membership: Membership, case_id: int) -> Case:
    case = (
        Case.objects.select_related(
            "workspace", "survey__workspace", "response", "contact", "assignee", "category"
        )
        .filter(workspace_id=membership.workspace_id, pk=case_id)
        .first()
    )
    if case is None:
        raise Http404
    return case


def can_work(membership: Membership, case: Case) -> bool:
    if membership.role in MANAGER_ROLES:
        return True
    if membership.role == Role.AGENT:
        return case.assignee_id in (None, membership.user_id)
    return False


def require_work(membership: Membership, case: Case) -> None:
    if not can_work(membership, case):
        raise PermissionDenied


def get_category_for_manager(membership: Membership, category_id: int) -> ResolutionCategory:
    if membership.role not in MANAGER_ROLES:
        raise PermissionDenied
    category = ResolutionCategory.objects.filter(
        workspace_id=membership.workspace_id, pk=category_id
    ).first()
    if category is None:
        raise Http404
    return category
