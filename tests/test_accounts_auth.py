"""Log in, log out, reset a forgotten password by email, and the staff admin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.urls import reverse

from kaiku.accounts.models import Membership, TeamInvitation, User, Workspace
from tests.base import PASSWORD, BaseTestCase
from tests.smtp import SmtpTestMixin, html_part, link_in, text_part

LOGIN = "/accounts/login/"
NEW_PASSWORD = "plum-orchard-violin-42"


if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse


class LoginTest(BaseTestCase):
    def test_the_login_page_is_ours(self) -> None:
        response = self.client.get(LOGIN)
        self.assertContains(response, 'autocomplete="current-password"')
        self.assertTemplateUsed(response, "registration/login.html")
        self.assertContains(response, reverse("accounts:password_reset"))

    def test_it_logs_in_with_email_and_password_and_goes_home(self) -> None:
        response = self.client.post(LOGIN, {"username": "alice@example.org", "password": PASSWORD})
        self.assertRedirects(response, reverse("home"), fetch_redirect_response=False)
        assert int(self.client.session["_auth_user_id"]) == self.alice.pk

    def test_the_email_is_case_insensitive(self) -> None:
        response = self.client.post(LOGIN, {"username": " Alice@Example.ORG", "password": PASSWORD})
        assert response.status_code == 302

    def test_it_follows_a_safe_next_but_not_an_offsite_one(self) -> None:
        data = {"username": "alice@example.org", "password": PASSWORD}
        response = self.client.post(f"{LOGIN}?next=/w/acme/team/", data)
        self.assertRedirects(response, "/w/acme/team/", fetch_redirect_response=False)
        self.client.logout()
        response = self.client.post(f"{LOGIN}?next=https://evil.example/", data)
        self.assertRedirects(response, reverse("home"), fetch_redirect_response=False)

    def test_it_does_not_tell_which_emails_exist(self) -> None:
        wrong_password = self.client.post(
            LOGIN, {"username": "alice@example.org", "password": "nope"}
        )
        no_account = self.client.post(LOGIN, {"username": "zed@example.org", "password": "nope"})
        assert wrong_password.status_code == 200
        assert no_account.status_code == 200
        assert wrong_password.context["form"].errors == no_account.context["form"].errors
        self.assertContains(no_account, "Please enter a correct email and password.")
        assert "_auth_user_id" not in self.client.session

    def test_an_inactive_user_gets_the_same_answer(self) -> None:
        User.objects.filter(pk=self.alice.pk).update(is_active=False)
        response = self.client.post(LOGIN, {"username": "alice@example.org", "password": PASSWORD})
        self.assertContains(response, "Please enter a correct email and password.")

    def test_logout_is_a_post(self) -> None:
        self.login_as(self.alice)
        assert self.client.get("/accounts/logout/").status_code == 405
        assert "_auth_user_id" in self.client.session
        response = self.client.post("/accounts/logout/")
        self.assertRedirects(response, LOGIN, fetch_redirect_response=False)
        assert "_auth_user_id" not in self.client.session

    def test_pages_show_a_logout_button_when_logged_in(self) -> None:
        self.login_as(self.alice)
        response = self.client.get("/w/acme/team/")
        self.assertContains(response, 'action="/accounts/logout/"')


class PasswordResetTest(SmtpTestMixin, BaseTestCase):
    def request_reset(self, email: str) -> TestResponse:
        with self.captureOnCommitCallbacks(execute=True):
            return self.client.post(reverse("accounts:password_reset"), {"email": email})

    def test_the_pages_are_ours_not_the_admins(self) -> None:
        response = self.client.get(reverse("accounts:password_reset"))
        self.assertTemplateUsed(response, "registration/password_reset_request.html")
        self.assertTemplateNotUsed(response, "admin/base_site.html")
        response = self.client.get(reverse("accounts:password_reset_done"))
        self.assertTemplateUsed(response, "registration/password_reset_sent.html")
        response = self.client.get(reverse("accounts:password_reset_complete"))
        self.assertTemplateUsed(response, "registration/password_reset_finished.html")

    def test_it_resets_a_password_end_to_end(self) -> None:
        response = self.request_reset("ALICE@example.org")
        self.assertRedirects(
            response, reverse("accounts:password_reset_done"), fetch_redirect_response=False
        )
        [message] = self.smtp.wait_for(1)
        assert message["To"] == "alice@example.org"
        assert message["Subject"] == "Reset your Kaiku password"
        assert message["From"] == "Kaiku <kaiku@localhost>"
        assert message.is_multipart()
        text, html = text_part(message), html_part(message)
        assert "alice@example.org" in text
        link = link_in(text)
        assert link == link_in(html)
        assert link.startswith("/accounts/reset/")

        form_page = self.client.get(link, follow=True)
        self.assertTemplateUsed(form_page, "registration/password_reset_new_password.html")
        self.assertContains(form_page, "Choose a new password")
        set_password_url = form_page.redirect_chain[-1][0]
        response = self.client.post(
            set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        )
        self.assertRedirects(
            response, reverse("accounts:password_reset_complete"), fetch_redirect_response=False
        )
        self.alice.refresh_from_db()
        assert self.alice.check_password(NEW_PASSWORD)
        assert self.client.login(username="alice@example.org", password=NEW_PASSWORD)
        self.client.logout()

        reused = self.client.get(link, follow=True)
        self.assertContains(reused, "This link no longer works")

    def test_a_weak_new_password_is_refused(self) -> None:
        self.request_reset("alice@example.org")
        link = link_in(text_part(self.smtp.wait_for(1)[0]))
        page = self.client.get(link, follow=True)
        response = self.client.post(
            page.redirect_chain[-1][0], {"new_password1": "12345678", "new_password2": "12345678"}
        )
        self.assertContains(response, "This password is too common.")
        self.alice.refresh_from_db()
        assert self.alice.check_password(PASSWORD)

    def test_an_unknown_address_gets_the_same_answer_and_no_email(self) -> None:
        known = self.request_reset("alice@example.org")
        unknown = self.request_reset("nobody@example.org")
        assert known.status_code == unknown.status_code
        assert known["Location"] == unknown["Location"]
        self.smtp.wait_for(1)
        assert [m["To"] for m in self.smtp.messages] == ["alice@example.org"]

    def test_the_email_is_in_the_users_language(self) -> None:
        User.objects.filter(pk=self.alice.pk).update(language="et")
        self.request_reset("alice@example.org")
        [message] = self.smtp.wait_for(1)
        assert message["Content-Language"] == "et"
        assert '<html lang="et">' in html_part(message)

    def test_a_garbled_link_is_explained(self) -> None:
        response = self.client.get("/accounts/reset/MQ/not-a-token/")
        self.assertContains(response, "This link no longer works")


class AdminTest(BaseTestCase):
    def setUp(self) -> None:
        self.staff = User.objects.create_superuser("staff@example.org", PASSWORD)
        self.client.force_login(self.staff)

    def test_staff_can_browse_every_accounts_model(self) -> None:
        TeamInvitation.objects.create(workspace=self.workspace, email="dan@example.org")
        for model in (User, Workspace, Membership, TeamInvitation):
            opts = model._meta
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
            with self.subTest(model=opts.model_name):
                response = self.client.get(url, {"q": "acme"})
                assert response.status_code == 200
        user_page = reverse("admin:accounts_user_change", args=[self.alice.pk])
        self.assertContains(self.client.get(user_page), "alice@example.org")

    def test_staff_can_add_a_user_by_email(self) -> None:
        response = self.client.post(
            reverse("admin:accounts_user_add"),
            {
                "email": "New.Person@Example.org",
                "name": "New Person",
                "usable_password": "true",
                "password1": NEW_PASSWORD,
                "password2": NEW_PASSWORD,
            },
        )
        assert response.status_code == 302
        user = User.objects.get(email="new.person@example.org")
        assert user.check_password(NEW_PASSWORD)

    def test_members_who_are_not_staff_cannot_open_the_admin(self) -> None:
        self.login_as(self.alice)
        response = self.client.get("/admin/")
        assert response.status_code == 302
