"""Forms: input parsing at the edge. The rules themselves live in actions.py."""

from __future__ import annotations

from functools import partial
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from kaiku.accounts.models import Membership, Role, User
from kaiku.accounts.roles import assignable_roles
from kaiku.accounts.tasks import send_password_reset_email
from kaiku.lib import ratelimit

# Failed logins are counted per client address and per account email over this
# window (KAIKU_LOGIN_RATE_LIMIT each): the address limit slows one machine trying
# many accounts, the email limit many machines trying one account.
LOGIN_WINDOW_SECONDS = 15 * 60


class LoginForm(AuthenticationForm):
    """Email and password. Errors never say whether the address has an account."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "rate_limited": _(
            "Too many failed attempts. Please wait %(minutes)s minutes and try again,"
            " or reset your password."
        ),
    }

    def clean_username(self) -> str:
        # Addresses are stored lower-case; people type them any way they like.
        return str(self.cleaned_data.get("username", "")).strip().lower()

    def clean(self) -> dict[str, Any]:
        # Checked before the password, so that a blocked guess costs no hashing
        # and tells nothing, right or wrong.
        wait = max(ratelimit.used_up(scope, key, *self._limit()) for scope, key in self._keys())
        if wait:
            raise forms.ValidationError(
                self.error_messages["rate_limited"],
                code="rate_limited",
                params={"minutes": max(1, (wait + 59) // 60)},
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            for scope, key in self._keys():
                ratelimit.hit(scope, key, *self._limit())
            raise
        ratelimit.reset("login-email", self._email(), LOGIN_WINDOW_SECONDS)
        return cleaned

    def is_rate_limited(self) -> bool:
        return any(error.code == "rate_limited" for error in self.non_field_errors().as_data())

    def _limit(self) -> tuple[int, int]:
        return settings.LOGIN_RATE_LIMIT, LOGIN_WINDOW_SECONDS

    def _email(self) -> str:
        return str(self.cleaned_data.get("username") or "")

    def _keys(self) -> list[tuple[str, str]]:
        address = ratelimit.client_ip(self.request) if self.request is not None else "unknown"
        return [("login-ip", address), ("login-email", self._email())]


class KaikuPasswordResetForm(PasswordResetForm):
    """Django's reset form, but the email goes out from a background job.

    Sending inline would make the answer slower for addresses that have an
    account than for those that do not, which tells an attacker which exist;
    queuing a job costs the same few milliseconds either way.
    """

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        user = context["user"]
        transaction.on_commit(partial(send_password_reset_email.enqueue, user.pk))


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)
    role = forms.ChoiceField(label=_("Role"))

    def __init__(self, *args: Any, actor: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        roles = assignable_roles(actor.role)
        role_field = self.fields["role"]
        assert isinstance(role_field, forms.ChoiceField)
        role_field.choices = [(role.value, role.label) for role in roles]
        role_field.initial = Role.AGENT

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).strip().lower()


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class SignupForm(forms.Form):
    """Name and password for someone accepting an invitation without an account yet."""

    name = forms.CharField(label=_("Your name"), max_length=150)
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("The two passwords differ."))
        elif password1:
            # Validate against the future user so "similar to your email" works.
            candidate = User(email=self.email, name=cleaned.get("name", ""))
            try:
                password_validation.validate_password(password1, candidate)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned
