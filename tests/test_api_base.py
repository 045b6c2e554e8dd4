"""Shared setup for the API tests (test_api_*.py): keys for each persona, helpers.

Holds no tests itself; the API test modules subclass ApiTestCase.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.test import override_settings

from kaiku.api.actions import create_api_key
from kaiku.api.models import ApiKey, Scope
from tests.base import BaseTestCase

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse


# Rate-limit counters in memory, emptied before each test: the tests neither
# depend on the counter table nor count its queries.
LOCMEM_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@override_settings(CACHES=LOCMEM_CACHE, RATE_LIMIT_STORE="cache")
class ApiTestCase(BaseTestCase):
    """Alice's workspace has a read key and a read_write key; Charlie's has its own."""

    read_key: ApiKey
    read_token: str
    write_key: ApiKey
    write_token: str
    charlies_key: ApiKey
    charlies_token: str

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.read_key, cls.read_token = create_api_key(
            cls.workspace, "Dashboard sync", Scope.READ, None, cls.alice
        )
        cls.write_key, cls.write_token = create_api_key(
            cls.workspace, "Helpdesk", Scope.READ_WRITE, None, cls.alice
        )
        cls.charlies_key, cls.charlies_token = create_api_key(
            cls.charlies_workspace, "Globex CRM", Scope.READ_WRITE, None, cls.charlie
        )

    def setUp(self) -> None:
        super().setUp()
        cache.clear()

    def api_get(self, path: str, token: str | None = None, **params: Any) -> TestResponse:
        return self.client.get(
            f"/api/v1{path}", params, headers=self._auth(token or self.read_token)
        )

    def api_post(
        self,
        path: str,
        body: Any,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> TestResponse:
        return self.client.post(
            f"/api/v1{path}",
            body,
            content_type="application/json",
            headers={**self._auth(token or self.write_token), **(headers or {})},
        )

    @staticmethod
    def _auth(token: str) -> dict[str, str]:
        return {"authorization": f"Bearer {token}"}

    def assertApiError(
        self, response: TestResponse, status: int, code: str, field: str | None = None
    ) -> dict[str, Any]:
        """The response is our error shape with this status, code and field."""
        assert response.status_code == status, response.content
        assert response["Content-Type"] == "application/json"
        body = response.json()
        assert set(body) == {"error"}
        assert set(body["error"]) == {"code", "message", "field"}
        assert body["error"]["code"] == code
        assert body["error"]["field"] == field
        assert body["error"]["message"]
        assert "Traceback" not in body["error"]["message"]
        return dict(body["error"])
