"""The team page: members, roles, invitations by email, and who may do what."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from kaiku.accounts import actions
from kaiku.accounts.models import Membership, Role, TeamInvitation, User
from tests.base import PASSWORD, BaseTestCase
from tests.smtp import SmtpTestMixin, html_part, link_in, text_part

NEW_PASSWORD = "plum-orchard-violin-42"


if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse


class TeamTestCase(BaseTestCase):
    def url(self, name: str, **kwargs: object) -> str:
        return reverse(f"team:{name}", kwargs={"workspace_slug": "acme", **kwargs})

    def membership(self, user: User) -> Membership:
        return Membership.objects.get(workspace=self.workspace, user=user)

    def make(self, user: User, role: Role) -> Membership:
        Membership.objects.filter(workspace=self.workspace, user=user).update(role=role)
        return self.membership(user)

    def add_member(self, email: str, role: Role) -> Membership:
        user = User.objects.create_user(email, PASSWORD, name=email.split("@")[0].title())
        return Membership.objects.create(workspace=self.workspace, user=user, role=role)

    def pending(self, email: str = "dan@example.org", role: Role = Role.AGENT) -> TeamInvitation:
        return TeamInvitation.objects.create(
            workspace=self.workspace, email=email, role=role, invited_by=self.alice
        )

    def assertMessage(self, response: TestResponse, text: str) -> None:
        shown = [str(m) for m in response.context["messages"]]
        assert any(text in m for m in shown), f"{text!r} not in {shown}"


class TeamPageTest(TeamTestCase):
    def test_it_lists_members_and_pending_invitations(self) -> None:
        self.pending("dan@example.org")
        self.login_as(self.alice)
        response = self.client.get(self.url("index"))
        assert response.status_code == 200
        self.assertTemplateUsed(response, "accounts/team.html")
        for text in ("Alice", "alice@example.org", "bob@example.org", "Agent", "dan@example.org"):
            self.assertContains(response, text)
        self.assertContains(response, self.url("invite"))
        self.assertContains(
            response, self.url("change_role", member_id=self.membership(self.bob).pk)
        )

    def test_an_agent_sees_the_list_read_only(self) -> None:
        self.pending("dan@example.org")
        self.login_as(self.bob)
        response = self.client.get(self.url("index"))
        self.assertContains(response, "alice@example.org")
        self.assertContains(response, "dan@example.org")
        self.assertNotContains(response, self.url("invite"))
        self.assertNotContains(response, "/role/")
        self.assertNotContains(response, "/remove/")
        self.assertNotContains(response, "/revoke/")

    def test_an_admin_cannot_touch_owners_in_the_page(self) -> None:
        self.make(self.bob, Role.ADMIN)
        self.login_as(self.bob)
        response = self.client.get(self.url("index"))
        alice_id = self.membership(self.alice).pk
        self.assertNotContains(response, self.url("change_role", member_id=alice_id))
        self.assertNotContains(response, self.url("remove_member", member_id=alice_id))
        self.assertNotContains(response, '<option value="owner"')

    def test_it_is_refused_to_outsiders_and_asks_strangers_to_log_in(self) -> None:
        self.assertRefusedToOutsider(self.url("index"))
        response = self.client.get(self.url("index"))
        self.assertRedirects(response, f"{reverse('accounts:login')}?next={self.url('index')}")

    def test_the_page_takes_a_fixed_number_of_queries(self) -> None:
        for n in range(5):
            self.add_member(f"member{n}@example.org", Role.VIEWER)
            self.pending(f"invitee{n}@example.org")
        self.login_as(self.alice)
        with self.assertNumQueries(5):  # session, user, membership, members, invitations
            self.client.get(self.url("index"))


class InviteTest(SmtpTestMixin, TeamTestCase):
    def invite(self, email: str, role: str = "agent") -> TestResponse:
        with self.captureOnCommitCallbacks(execute=True):
            return self.client.post(self.url("invite"), {"email": email, "role": role})

    def test_an_owner_invites_by_email_and_a_new_user_joins(self) -> None:
        self.login_as(self.alice)
        response = self.invite("Dan@Example.org", "viewer")
        self.assertRedirects(response, self.url("index"), fetch_redirect_response=False)
        invitation = TeamInvitation.objects.get(workspace=self.workspace)
        assert (invitation.email, invitation.role) == ("dan@example.org", "viewer")
        assert invitation.invited_by == self.alice

        [message] = self.smtp.wait_for(1)
        assert message["To"] == "dan@example.org"
        assert "Acme" in message["Subject"]
        text, html = text_part(message), html_part(message)
        assert "Alice invited you to join Acme on Kaiku as Viewer." in text
        assert "<strong>Acme</strong>" in html
        path = link_in(text)
        assert path == link_in(html)
        assert path == reverse("accounts:invitation", args=[invitation.token])

        self.client.logout()
        page = self.client.get(path)
        self.assertContains(page, "Join Acme")
        self.assertContains(page, "Create account and join")
        response = self.client.post(
            path, {"name": "Dan", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
        )
        self.assertRedirects(response, "/w/acme/", fetch_redirect_response=False)
        dan = User.objects.get(email="dan@example.org")
        assert dan.name == "Dan"
        assert dan.check_password(NEW_PASSWORD)
        assert self.membership(dan).role == Role.VIEWER
        assert int(self.client.session["_auth_user_id"]) == dan.pk
        invitation.refresh_from_db()
        assert invitation.accepted_at is not None

        again = self.client.get(path)  # idempotent: a second visit just goes to the workspace
        self.assertRedirects(again, "/w/acme/", fetch_redirect_response=False)
        self.client.post(path, {"name": "Dan", "password1": "x", "password2": "x"})
        assert Membership.objects.filter(user=dan).count() == 1

    def test_an_existing_user_must_log_in_as_the_invited_address(self) -> None:
        self.login_as(self.alice)
        self.invite("charlie@example.org", "admin")
        path = link_in(text_part(self.smtp.wait_for(1)[0]))

        self.client.logout()
        page = self.client.get(path)
        self.assertContains(page, "Log in to accept")
        self.assertNotContains(page, "Create account")
        self.assertContains(page, f"{reverse('accounts:login')}?next=%2Faccounts%2Finvitations%2F")
        assert self.client.post(path, {"name": "X"}).status_code == 200
        assert not Membership.objects.filter(workspace=self.workspace, user=self.charlie)

        self.login_as(self.bob)
        wrong = self.client.post(path)
        self.assertContains(wrong, "You are logged in as bob@example.org", status_code=403)
        assert not Membership.objects.filter(workspace=self.workspace, user=self.charlie)

        self.login_as(self.charlie)
        self.assertContains(self.client.get(path), "Join Acme")
        response = self.client.post(path)
        self.assertRedirects(response, "/w/acme/", fetch_redirect_response=False)
        assert self.membership(self.charlie).role == Role.ADMIN
        self.assertRedirects(self.client.post(path), "/w/acme/", fetch_redirect_response=False)
        assert Membership.objects.filter(user=self.charlie).count() == 2

    def test_the_email_is_in_the_language_of_an_existing_account(self) -> None:
        User.objects.filter(pk=self.charlie.pk).update(language="fi")
        self.login_as(self.alice)
        self.invite("charlie@example.org")
        [message] = self.smtp.wait_for(1)
        assert message["Content-Language"] == "fi"
        assert '<html lang="fi">' in html_part(message)

    def test_bad_input_gives_form_errors_and_changes_nothing(self) -> None:
        self.login_as(self.alice)
        cases = [
            ({"email": "not-an-email", "role": "agent"}, "Enter a valid email address."),
            ({"email": "dan@example.org", "role": "emperor"}, "Select a valid choice."),
            ({"email": "", "role": "agent"}, "This field is required."),
            ({"email": "BOB@example.org", "role": "agent"}, "already a member"),
        ]
        for data, error in cases:
            with self.subTest(data=data), self.captureOnCommitCallbacks(execute=True):
                response = self.client.post(self.url("invite"), data)
                self.assertContains(response, error)
        assert not TeamInvitation.objects.exists()
        assert self.smtp.messages == []

    def test_an_admin_cannot_invite_an_owner(self) -> None:
        self.make(self.bob, Role.ADMIN)
        self.login_as(self.bob)
        response = self.invite("dan@example.org", "owner")
        self.assertContains(response, "Select a valid choice.")
        self.invite("dan@example.org", "admin")
        assert TeamInvitation.objects.get().role == Role.ADMIN

    def test_inviting_again_replaces_the_pending_invitation(self) -> None:
        self.login_as(self.alice)
        self.invite("dan@example.org", "agent")
        self.invite("dan@example.org", "viewer")
        first, second = self.smtp.wait_for(2)
        invitation = TeamInvitation.objects.get()
        assert invitation.role == Role.VIEWER
        assert self.client.get(link_in(text_part(first))).status_code == 404
        assert link_in(text_part(second)) == f"/accounts/invitations/{invitation.token}/"

    def test_an_agent_cannot_invite(self) -> None:
        self.login_as(self.bob)
        assert self.client.get(self.url("invite")).status_code == 403
        assert self.invite("dan@example.org").status_code == 403
        assert not TeamInvitation.objects.exists()

    def test_an_invitation_revoked_before_the_job_runs_sends_nothing(self) -> None:
        self.login_as(self.alice)
        with self.captureOnCommitCallbacks() as callbacks:
            self.client.post(self.url("invite"), {"email": "dan@example.org", "role": "agent"})
        TeamInvitation.objects.all().delete()
        for callback in callbacks:
            callback()
        assert self.smtp.messages == []


class InvitationLinkTest(TeamTestCase):
    def link(self, invitation: TeamInvitation) -> str:
        return reverse("accounts:invitation", args=[invitation.token])

    def test_an_unknown_token_is_a_friendly_404(self) -> None:
        response = self.client.get("/accounts/invitations/no-such-token/")
        self.assertContains(response, "This invitation is not valid", status_code=404)
        self.assertNotContains(response, "Traceback", status_code=404)

    def test_an_expired_invitation_is_a_friendly_410(self) -> None:
        invitation = self.pending()
        with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
            response = self.client.get(self.link(invitation))
            self.assertContains(response, "has expired", status_code=410)
            self.assertNotContains(response, "Acme", status_code=410)
            with pytest.raises(ValidationError) as refused:
                actions.accept_invitation(invitation, User.objects.create_user("dan@example.org"))
        assert refused.value.code == "expired"

    @override_settings(TEAM_INVITATION_DAYS=30)
    def test_the_validity_follows_the_setting(self) -> None:
        invitation = self.pending()
        with time_machine.travel(timezone.now() + timedelta(days=20)):
            self.assertContains(self.client.get(self.link(invitation)), "Join Acme")

    def test_a_used_invitation_is_a_friendly_410(self) -> None:
        invitation = self.pending(email="bob@example.org")
        TeamInvitation.objects.filter(pk=invitation.pk).update(accepted_at=timezone.now())
        Membership.objects.filter(user=self.bob).delete()
        self.login_as(self.bob)
        response = self.client.get(self.link(invitation))
        self.assertContains(response, "already been used", status_code=410)
        self.client.logout()
        assert self.client.get(self.link(invitation)).status_code == 410

    def test_a_revoked_invitation_is_a_friendly_404(self) -> None:
        invitation = self.pending()
        self.login_as(self.alice)
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(self.url("revoke_invitation", invitation_id=invitation.pk))
        self.assertRedirects(response, self.url("index"), fetch_redirect_response=False)
        assert not TeamInvitation.objects.exists()
        self.client.logout()
        self.assertContains(self.client.get(self.link(invitation)), "revoked", status_code=404)

    def test_a_bad_signup_shows_errors_and_creates_nobody(self) -> None:
        link = self.link(self.pending())
        response = self.client.post(link, {"name": "Dan", "password1": "dan", "password2": "dan"})
        self.assertContains(response, "This password is too short.")
        response = self.client.post(
            link, {"name": "Dan", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD + "!"}
        )
        self.assertContains(response, "The two passwords differ.")
        assert not User.objects.filter(email="dan@example.org").exists()

    def test_accepting_keeps_an_existing_members_role(self) -> None:
        invitation = self.pending(email="bob@example.org", role=Role.VIEWER)
        membership = actions.accept_invitation(invitation, self.bob)
        assert membership.role == Role.AGENT
        assert actions.accept_invitation(invitation, self.bob) == membership

    def test_an_invitation_cannot_be_accepted_by_another_address(self) -> None:
        with pytest.raises(ValidationError) as refused:
            actions.accept_invitation(self.pending(), self.charlie)
        assert refused.value.code == "wrong_user"


class ChangeRoleTest(TeamTestCase):
    def change(self, member: Membership, role: str) -> TestResponse:
        return self.client.post(self.url("change_role", member_id=member.pk), {"role": role})

    def test_an_owner_changes_a_role(self) -> None:
        self.login_as(self.alice)
        response = self.change(self.membership(self.bob), "admin")
        self.assertRedirects(response, self.url("index"), fetch_redirect_response=False)
        assert self.membership(self.bob).role == Role.ADMIN
        self.assertMessage(self.client.get(self.url("index")), "Bob is now Admin.")

    def test_an_unknown_role_changes_nothing(self) -> None:
        self.login_as(self.alice)
        response = self.change(self.membership(self.bob), "emperor")
        assert response.status_code == 302
        assert self.membership(self.bob).role == Role.AGENT
        self.assertMessage(self.client.get(self.url("index")), "Choose one of the listed roles.")
        with pytest.raises(ValidationError):
            actions.change_role(self.membership(self.alice), self.membership(self.bob), "emperor")

    def test_the_last_owner_cannot_step_down(self) -> None:
        self.login_as(self.alice)
        self.change(self.membership(self.alice), "admin")
        assert self.membership(self.alice).role == Role.OWNER
        self.assertMessage(self.client.get(self.url("index")), "at least one owner")

    def test_an_owner_can_step_down_when_another_owner_remains(self) -> None:
        self.make(self.bob, Role.OWNER)
        self.login_as(self.alice)
        self.change(self.membership(self.alice), "viewer")
        assert self.membership(self.alice).role == Role.VIEWER
        assert self.client.get(self.url("invite")).status_code == 403

    def test_an_owner_can_demote_another_owner(self) -> None:
        self.make(self.bob, Role.OWNER)
        self.login_as(self.alice)
        self.change(self.membership(self.bob), "agent")
        assert self.membership(self.bob).role == Role.AGENT

    def test_an_admin_manages_admins_agents_and_viewers(self) -> None:
        self.make(self.bob, Role.ADMIN)
        viewer = self.add_member("vera@example.org", Role.VIEWER)
        self.login_as(self.bob)
        self.change(viewer, "admin")
        assert self.membership(viewer.user).role == Role.ADMIN
        self.change(viewer, "agent")
        assert self.membership(viewer.user).role == Role.AGENT

    def test_an_admin_cannot_grant_or_take_ownership(self) -> None:
        self.make(self.bob, Role.ADMIN)
        viewer = self.add_member("vera@example.org", Role.VIEWER)
        self.login_as(self.bob)
        assert self.change(viewer, "owner").status_code == 403
        assert self.change(self.membership(self.bob), "owner").status_code == 403
        alice = self.membership(self.alice)
        assert self.change(alice, "viewer").status_code == 403
        assert self.membership(self.alice).role == Role.OWNER
        assert self.membership(viewer.user).role == Role.VIEWER
        assert self.membership(self.bob).role == Role.ADMIN

    def test_an_agent_is_refused(self) -> None:
        viewer = self.add_member("vera@example.org", Role.VIEWER)
        self.login_as(self.bob)
        assert self.change(viewer, "agent").status_code == 403
        assert self.membership(viewer.user).role == Role.VIEWER

    def test_the_action_rereads_the_actors_role(self) -> None:
        alice = self.membership(self.alice)
        self.make(self.bob, Role.OWNER)
        self.make(self.alice, Role.AGENT)  # demoted after her page loaded
        with pytest.raises(PermissionDenied):
            actions.change_role(alice, self.membership(self.bob), Role.VIEWER)

    def test_get_is_not_allowed(self) -> None:
        self.login_as(self.alice)
        response = self.client.get(self.url("change_role", member_id=self.membership(self.bob).pk))
        assert response.status_code == 405


class RemoveMemberTest(TeamTestCase):
    def remove(self, member: Membership) -> TestResponse:
        return self.client.post(self.url("remove_member", member_id=member.pk))

    def test_an_owner_removes_a_member_who_then_loses_access(self) -> None:
        self.login_as(self.alice)
        response = self.remove(self.membership(self.bob))
        self.assertRedirects(response, self.url("index"), fetch_redirect_response=False)
        assert not Membership.objects.filter(workspace=self.workspace, user=self.bob)
        assert User.objects.filter(pk=self.bob.pk).exists()
        self.login_as(self.bob)
        assert self.client.get(self.url("index")).status_code == 404

    def test_the_last_owner_cannot_be_removed(self) -> None:
        self.login_as(self.alice)
        self.remove(self.membership(self.alice))
        assert Membership.objects.filter(workspace=self.workspace, user=self.alice)
        with pytest.raises(ValidationError) as refused:
            actions.remove_member(self.membership(self.alice), self.membership(self.alice))
        assert refused.value.code == "last_owner"

    def test_an_admin_cannot_remove_an_owner_but_can_remove_a_viewer(self) -> None:
        self.make(self.bob, Role.ADMIN)
        viewer = self.add_member("vera@example.org", Role.VIEWER)
        self.login_as(self.bob)
        assert self.remove(self.membership(self.alice)).status_code == 403
        self.remove(viewer)
        assert not Membership.objects.filter(pk=viewer.pk).exists()
        assert Membership.objects.filter(workspace=self.workspace, user=self.alice)

    def test_an_agent_is_refused(self) -> None:
        self.login_as(self.bob)
        assert self.remove(self.membership(self.alice)).status_code == 403
        assert Membership.objects.filter(workspace=self.workspace).count() == 2

    def test_an_agent_cannot_revoke_invitations(self) -> None:
        invitation = self.pending()
        self.login_as(self.bob)
        url = self.url("revoke_invitation", invitation_id=invitation.pk)
        assert self.client.post(url).status_code == 403
        assert TeamInvitation.objects.filter(pk=invitation.pk).exists()

    def test_an_admin_cannot_revoke_an_owner_invitation(self) -> None:
        invitation = self.pending(role=Role.OWNER)
        self.make(self.bob, Role.ADMIN)
        self.login_as(self.bob)
        url = self.url("revoke_invitation", invitation_id=invitation.pk)
        assert self.client.post(url).status_code == 403
        assert TeamInvitation.objects.filter(pk=invitation.pk).exists()

    def test_a_member_can_leave_but_not_the_last_owner(self) -> None:
        self.login_as(self.bob)
        self.assertRedirects(
            self.client.post(self.url("leave")), "/", fetch_redirect_response=False
        )
        assert not Membership.objects.filter(workspace=self.workspace, user=self.bob)
        self.login_as(self.alice)
        self.client.post(self.url("leave"))
        assert Membership.objects.filter(workspace=self.workspace, user=self.alice)


class CreateWorkspaceTest(BaseTestCase):
    def test_it_makes_the_creator_owner_under_a_unique_slug(self) -> None:
        first = actions.create_workspace("Acme", self.charlie)
        second = actions.create_workspace("ACME!", self.charlie)
        assert (first.slug, second.slug) == ("acme-2", "acme-3")
        membership = Membership.objects.get(workspace=first)
        assert (membership.user, membership.role) == (self.charlie, Role.OWNER)

    def test_a_name_without_latin_letters_still_gets_a_slug(self) -> None:
        assert actions.create_workspace("✨✨", self.alice).slug == "workspace"
        assert actions.create_workspace("Äänekoski Oy", self.alice).slug == "aanekoski-oy"
