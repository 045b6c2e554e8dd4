"""Shared setup for the Delighted-compatible API tests (test_delighted_*.py).

Holds no tests itself. Requests authenticate like Delighted's clients: HTTP
Basic with the API key as the username and an empty password.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from kaiku.contacts.models import Contact
from kaiku.responses.models import Channel, Response
from tests.test_api_base import ApiTestCase

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

BASE = "/delighted/v1/"


def basic(token: str, *, colon: bool = True) -> str:
    """delighted-ruby sends `key:`, delighted-python the bare key."""
    raw = f"{token}:" if colon else token
    return "Basic " + base64.b64encode(raw.encode()).decode()


class DelightedTestCase(ApiTestCase):
    """Alice's workspace has an NPS survey (the default target); Charlie's has none."""

    def d_get(self, path: str, params: Any = None, token: str | None = None) -> TestResponse:
        return self.client.get(
            BASE + path, params or {}, headers={"authorization": basic(token or self.read_token)}
        )

    def d_send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        form: bool = False,
    ) -> TestResponse:
        if form:
            data: Any = urlencode(body or {})
            content_type = "application/x-www-form-urlencoded"
        else:
            data = json.dumps(body) if body is not None else ""
            content_type = "application/json"
        return getattr(self.client, method)(
            BASE + path,
            data,
            content_type=content_type,
            headers={"authorization": basic(token or self.write_token)},
        )

    def d_post(self, path: str, body: Any = None, **kwargs: Any) -> TestResponse:
        return self.d_send("post", path, body, **kwargs)

    def assertDelightedError(
        self, response: TestResponse, status: int, field: str | None = None
    ) -> dict[str, Any]:
        """Delighted's error shape: `{"status", "message"[, "errors": {field: [...]}]}`."""
        assert response.status_code == status, response.content
        assert response["Content-Type"] == "application/json"
        body = response.json()
        assert body["status"] == status
        assert isinstance(body["message"], str)
        assert body["message"]
        assert "Traceback" not in response.content.decode()
        if field is not None:
            assert field in body["errors"], body
            assert all(isinstance(m, str) for m in body["errors"][field])
        return dict(body)

    def make_contact(self, email: str, **fields: Any) -> Contact:
        return Contact.objects.create(workspace=self.workspace, email=email, **fields)

    def make_response(self, contact: Contact | None, score: int, **fields: Any) -> Response:
        fields.setdefault("channel", Channel.API)
        return Response.objects.create(
            workspace=self.workspace, survey=self.survey, contact=contact, score=score, **fields
        )
