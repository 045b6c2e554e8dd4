"""Team pages and the public invitation page. Thin: parse, call one action, redirect.

Every workspace view reaches its objects through kaiku.accounts.access, so an
outsider gets 404 and a member without the right role gets 403 before any
method check or form parsing.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from kaiku.accounts import actions
from kaiku.accounts.access import (
    find_team_invitation,
    get_invitation_for_manager,
    get_manager_membership,
    get_member_for_manager,
    get_membership,
)
from kaiku.accounts.forms import InviteForm, LoginForm, RoleForm, SignupForm
from kaiku.accounts.models import Membership, TeamInvitation, User
from kaiku.accounts.roles import ROLE_ORDER, assignable_roles, can_manage_role

# --- Team page -------------------------------------------------------------------


@dataclass(frozen=True)
class MemberRow:
    member: Membership
    manageable: bool


@login_required
def team(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    membership = get_membership(request, workspace_slug)
    return render(request, "accounts/team.html", _team_context(membership))


def _team_context(membership: Membership) -> dict[str, object]:
    members = sorted(
        Membership.objects.filter(workspace_id=membership.workspace_id).select_related("user"),
        key=lambda m: (ROLE_ORDER.index(m.role), m.user.email),
    )
    invitations = TeamInvitation.objects.filter(
        workspace_id=membership.workspace_id, accepted_at=None
    ).select_related("invited_by")
    return {
        "workspace": membership.workspace,
        "membership": membership,
        "rows": [MemberRow(m, can_manage_role(membership.role, m.role)) for m in members],
        "invitations": [(inv, can_manage_role(membership.role, inv.role)) for inv in invitations],
        "role_choices": [(role.value, role.label) for role in assignable_roles(membership.role)],
        "can_manage": membership.can_manage,
    }


def _back_to_team(membership: Membership) -> HttpResponse:
    return redirect("team:index", workspace_slug=membership.workspace.slug)


def _refusal(request: HttpRequest, exc: ValidationError) -> None:
    messages.error(request, " ".join(exc.messages))


# --- Team writes (owners and admins) ----------------------------------------------------


@login_required
def invite(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    form = InviteForm(request.POST or None, actor=membership)
    if request.method == "POST" and form.is_valid():
        email, role = form.cleaned_data["email"], form.cleaned_data["role"]
        try:
            actions.invite_teammate(membership, email, role)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": email})
            return _back_to_team(membership)
    context = {"form": form, "workspace": membership.workspace, "membership": membership}
    return render(request, "accounts/team_invite.html", context)


@login_required
def revoke_invitation(
    request: HttpRequest, workspace_slug: str, invitation_id: int
) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    invitation = get_invitation_for_manager(membership, invitation_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        actions.revoke_invitation(membership, invitation)
    except ValidationError as exc:
        _refusal(request, exc)
    else:
        messages.success(
            request, _("Invitation to %(email)s revoked.") % {"email": invitation.email}
        )
    return _back_to_team(membership)


@login_required
def change_role(request: HttpRequest, workspace_slug: str, member_id: int) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    member = get_member_for_manager(membership, member_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the listed roles."))
        return _back_to_team(membership)
    try:
        member = actions.change_role(membership, member, form.cleaned_data["role"])
    except ValidationError as exc:
        _refusal(request, exc)
    else:
        messages.success(
            request,
            _("%(name)s is now %(role)s.")
            % {"name": member.user.get_full_name(), "role": member.get_role_display()},
        )
    return _back_to_team(membership)


@login_required
def remove_member(request: HttpRequest, workspace_slug: str, member_id: int) -> HttpResponse:
    membership = get_manager_membership(request, workspace_slug)
    member = get_member_for_manager(membership, member_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        actions.remove_member(membership, member)
    except ValidationError as exc:
        _refusal(request, exc)
        return _back_to_team(membership)
    name = member.user.get_full_name()
    messages.success(request, _("%(name)s was removed from the team.") % {"name": name})
    if member.pk == membership.pk:
        return redirect("home")
    return _back_to_team(membership)


@login_required
def leave(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    membership = get_membership(request, workspace_slug)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        actions.leave_workspace(membership)
    except ValidationError as exc:
        _refusal(request, exc)
        return _back_to_team(membership)
    messages.success(
        request, _("You left %(workspace)s.") % {"workspace": membership.workspace.name}
    )
    return redirect("home")


# --- Logging in ---------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    """Django's login view; too many failures answer 429 with LoginForm's wait message."""

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if isinstance(form, LoginForm) and form.is_rate_limited():
            response.status_code = 429
        return response


# --- The public invitation page --------------------------------------------------------


def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """What an invitation link shows: join, sign up, log in first, or why it is dead."""
    invitation = find_team_invitation(token)
    if invitation is None:
        return _dead_invitation(request, "unknown", status=404)
    if invitation.accepted_at is not None:
        if _is_member(request, invitation):
            return _joined(request, invitation, already=True)
        return _dead_invitation(request, "used", status=410)
    if invitation.is_expired():
        return _dead_invitation(request, "expired", status=410)
    account = User.objects.filter(email__iexact=invitation.email).first()
    if account is None:
        return _sign_up_and_join(request, invitation)
    return _join_as_existing_user(request, invitation, account)


def _dead_invitation(request: HttpRequest, reason: str, *, status: int) -> HttpResponse:
    # Says nothing about the workspace: an old or guessed link reveals nothing.
    context = {"reason": reason}
    return render(request, "accounts/invitation_invalid.html", context, status=status)


def _is_member(request: HttpRequest, invitation: TeamInvitation) -> bool:
    return (
        request.user.is_authenticated
        and Membership.objects.filter(
            workspace_id=invitation.workspace_id, user_id=request.user.pk
        ).exists()
    )


def _joined(request: HttpRequest, invitation: TeamInvitation, *, already: bool) -> HttpResponse:
    workspace = invitation.workspace
    if already:
        text = _("You are already a member of %(workspace)s.")
    else:
        text = _("Welcome to %(workspace)s!")
    messages.success(request, text % {"workspace": workspace.name})
    return redirect("insights:survey_list", workspace_slug=workspace.slug)


def _sign_up_and_join(request: HttpRequest, invitation: TeamInvitation) -> HttpResponse:
    form = SignupForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        language = (translation.get_language() or "").split("-")[0]
        try:
            user = actions.accept_invitation_as_new_user(
                invitation, form.cleaned_data["name"], form.cleaned_data["password1"], language
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return _joined(request, invitation, already=False)
    return _invitation_page(request, invitation, state="signup", form=form)


def _join_as_existing_user(
    request: HttpRequest, invitation: TeamInvitation, account: User
) -> HttpResponse:
    if not request.user.is_authenticated:
        return _invitation_page(request, invitation, state="login")
    if request.user.pk != account.pk:
        return _invitation_page(request, invitation, state="wrong_user", status=403)
    if request.method == "POST":
        try:
            actions.accept_invitation(invitation, account)
        except ValidationError as exc:
            _refusal(request, exc)
            return redirect("accounts:invitation", token=invitation.token)
        return _joined(request, invitation, already=False)
    return _invitation_page(request, invitation, state="accept")


def _invitation_page(
    request: HttpRequest,
    invitation: TeamInvitation,
    *,
    state: str,
    form: SignupForm | None = None,
    status: int = 200,
) -> HttpResponse:
    here = reverse("accounts:invitation", args=[invitation.token])
    context = {
        "invitation": invitation,
        "invited_workspace": invitation.workspace,
        "state": state,
        "form": form,
        "here": here,
        "login_url": reverse("accounts:login") + "?" + urlencode({"next": here}),
    }
    return render(request, "accounts/invitation.html", context, status=status)
