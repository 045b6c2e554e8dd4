"""Secrets at rest: passwords, API keys and webhook signing secrets never stored in clear.

Each secret is made the way people make it (the pages and the API), then every
table of the database is dumped and searched for the plaintext: a column added
later, a log row or a queued job that copies it would be caught as well.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import connection
from django.test import Client, override_settings

from kaiku.api.models import ApiKey, hash_key
from kaiku.webhooks.models import WebhookEndpoint
from tests.base import PASSWORD
from tests.test_api_base import ApiTestCase

HOOK_URL = "http://127.0.0.1:9/hooks/kaiku"  # never called: nothing is delivered here


def database_dump() -> str:
    """Every value of every table, as text."""
    parts: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            parts.extend(_text(value) for row in cursor.fetchall() for value in row)
    return "\n".join(parts)


def _text(value: Any) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode(errors="replace")
    return str(value)


@override_settings(WEBHOOKS_ALLOW_PRIVATE=True)
class SecretsAtRestTest(ApiTestCase):
    def alices_browser(self) -> Client:
        client = Client()
        client.force_login(self.alice)
        return client

    def test_api_keys_made_on_the_page_are_stored_as_hashes_only(self) -> None:
        response = self.alices_browser().post(
            "/w/acme/api-keys/", {"name": "Helpdesk sync", "scope": "read_write"}
        )
        assert response.status_code == 200
        match = re.search(r"kaiku_[A-Za-z0-9]+_[A-Za-z0-9]+", response.content.decode())
        assert match is not None, "the new key is shown once"
        plaintext = match.group(0)
        prefix, secret = plaintext.split("_")[1:]
        dump = database_dump()
        assert plaintext not in dump
        assert secret not in dump
        key = ApiKey.objects.get(name="Helpdesk sync")
        assert key.key_hash == hash_key(plaintext)
        assert key.prefix == prefix  # shown in the list to tell keys apart; not a secret

    def test_the_test_keys_plaintexts_are_nowhere_either(self) -> None:
        dump = database_dump()
        for token in (self.read_token, self.write_token, self.charlies_token):
            assert token not in dump
            assert token.split("_")[2] not in dump

    def test_webhook_secrets_are_stored_encrypted(self) -> None:
        page = self.alices_browser().post(
            "/w/acme/webhooks/",
            {"url": HOOK_URL, "events": ["response.created"], "payload_format": "kaiku"},
        )
        assert page.status_code == 200
        from_page = re.search(r'id="webhook-secret"[^>]*value="([^"]+)"', page.content.decode())
        assert from_page is not None, "the secret is shown once"
        api = self.api_post("/webhooks", {"url": HOOK_URL, "events": ["response.created"]})
        assert api.status_code == 201
        from_api = api.json()["secret"]
        endpoint = WebhookEndpoint.objects.get(pk=api.json()["id"])
        rolled = self.alices_browser().post(f"/w/acme/webhooks/{endpoint.pk}/roll-secret/")
        assert rolled.status_code == 200
        from_roll = re.search(r'id="webhook-secret"[^>]*value="([^"]+)"', rolled.content.decode())
        assert from_roll is not None

        dump = database_dump()
        for secret in (from_page.group(1), from_api, from_roll.group(1)):
            assert len(secret) >= 24
            assert secret not in dump
        endpoint.refresh_from_db()
        assert endpoint.secret == from_roll.group(1)  # decrypted with the server's key
        assert endpoint.secret_encrypted.startswith("gAAAA")  # a Fernet token

    def test_passwords_are_argon2_hashes(self) -> None:
        dump = database_dump()
        assert PASSWORD not in dump
        with connection.cursor() as cursor:
            cursor.execute("SELECT password FROM accounts_user")
            hashes = [row[0] for row in cursor.fetchall()]
        assert hashes
        assert all(h.startswith("argon2$argon2id$") for h in hashes), hashes
