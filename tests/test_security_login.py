"""Logging in is rate-limited per client address and per account email (KAIKU_LOGIN_RATE_LIMIT).

Failures are counted over 15 minutes; past the limit the login page answers
429 with a wait message, and does not even check the password, so a blocked
guess tells nothing whether it was right or wrong.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import time_machine
from django.core.cache import cache
from django.test import Client, override_settings
from django.utils import timezone

from tests.base import PASSWORD, BaseTestCase
from tests.test_api_base import LOCMEM_CACHE

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

LOGIN = "/accounts/login/"
WAIT = "Too many failed attempts"


@override_settings(CACHES=LOCMEM_CACHE, LOGIN_RATE_LIMIT=2)
class LoginRateLimitTest(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        cache.clear()

    def log_in(
        self, email: str, password: str, address: str = "198.51.100.7", client: Client | None = None
    ) -> TestResponse:
        client = client or Client()
        return client.post(LOGIN, {"username": email, "password": password}, REMOTE_ADDR=address)

    def test_failures_up_to_the_limit_get_the_usual_error(self) -> None:
        for _ in range(2):
            response = self.log_in("alice@example.org", "wrong")
            assert response.status_code == 200
            self.assertContains(response, "Please enter a correct email and password.")

    def test_past_the_limit_even_the_right_password_gets_429_and_a_wait_message(self) -> None:
        for _ in range(2):
            self.log_in("alice@example.org", "wrong")
        client = Client()
        response = self.log_in("alice@example.org", PASSWORD, client=client)
        assert response.status_code == 429
        self.assertContains(response, WAIT, status_code=429)
        assert re.search(r"wait \d+ minutes", response.content.decode())
        assert "_auth_user_id" not in client.session

    def test_one_address_trying_many_accounts_is_stopped(self) -> None:
        for n in range(2):
            self.log_in(f"guess{n}@example.org", "wrong", address="203.0.113.9")
        response = self.log_in("bob@example.org", PASSWORD, address="203.0.113.9")
        assert response.status_code == 429
        # Another address is not affected.
        assert self.log_in("bob@example.org", PASSWORD, address="203.0.113.10").status_code == 302

    def test_many_addresses_trying_one_account_are_stopped(self) -> None:
        for n in range(2):
            self.log_in("Alice@Example.org", "wrong", address=f"192.0.2.{n + 1}")
        assert self.log_in("alice@example.org", PASSWORD, address="192.0.2.99").status_code == 429
        # Other accounts log in as usual from anywhere.
        assert self.log_in("bob@example.org", PASSWORD, address="192.0.2.99").status_code == 302

    def test_the_block_lifts_after_the_window(self) -> None:
        with time_machine.travel(timezone.now(), tick=False) as traveller:
            for _ in range(2):
                self.log_in("alice@example.org", "wrong")
            assert self.log_in("alice@example.org", PASSWORD).status_code == 429
            traveller.shift(15 * 60 + 1)
            assert self.log_in("alice@example.org", PASSWORD).status_code == 302

    def test_a_successful_login_clears_the_accounts_failures(self) -> None:
        self.log_in("alice@example.org", "wrong", address="192.0.2.1")
        assert self.log_in("alice@example.org", PASSWORD, address="192.0.2.2").status_code == 302
        self.log_in("alice@example.org", "wrong", address="192.0.2.3")
        assert self.log_in("alice@example.org", PASSWORD, address="192.0.2.4").status_code == 302

    def test_the_blocked_answer_is_the_same_for_unknown_addresses(self) -> None:
        for i, email in enumerate(("alice@example.org", "zed@example.org")):
            for n in range(2):
                self.log_in(email, "wrong", address=f"192.0.2.{10 * i + n}")
        known = self.log_in("alice@example.org", "wrong", address="192.0.2.51")
        unknown = self.log_in("zed@example.org", "wrong", address="192.0.2.52")
        assert known.status_code == unknown.status_code == 429
        assert known.context["form"].errors == unknown.context["form"].errors

    @override_settings(LOGIN_RATE_LIMIT=0)
    def test_zero_turns_the_limit_off(self) -> None:
        for _ in range(4):
            self.log_in("alice@example.org", "wrong")
        assert self.log_in("alice@example.org", PASSWORD).status_code == 302


class PasswordHashTest(BaseTestCase):
    def test_passwords_are_stored_with_argon2(self) -> None:
        self.alice.refresh_from_db()
        assert self.alice.password.startswith("argon2$argon2id$")
        assert PASSWORD not in self.alice.password

    def test_a_new_password_is_argon2_too(self) -> None:
        self.bob.set_password("plum-orchard-violin-42")
        self.bob.save()
        self.bob.refresh_from_db()
        assert self.bob.password.startswith("argon2$argon2id$")
