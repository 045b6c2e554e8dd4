"""Bearer authentication with API keys, scope enforcement and per-key rate limits."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from kaiku.accounts.models import Workspace
from kaiku.api.actions import find_api_key, note_api_key_used
from kaiku.api.errors import ApiError, RateLimited
from kaiku.api.models import ApiKey
from kaiku.lib import ratelimit

# Methods a read-only key may use. Deciding by method (not per route) means a
# write route added later cannot forget the scope check.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer kaiku_<prefix>_<secret>` → the key (request.auth).

    Unknown, revoked and expired keys are 401; a read-only key on a write is 403.
    """

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey:
        key = find_api_key(token.strip())
        if key is None:
            raise ApiError(401, "Unknown API key.")
        now = timezone.now()
        if key.revoked_at is not None:
            raise ApiError(401, "This API key has been revoked.")
        if key.is_expired(now):
            raise ApiError(401, "This API key has expired.")
        check_rate_limit(key)
        if request.method not in SAFE_METHODS and not key.can_write:
            raise ApiError(403, "This API key is read-only; writing needs a read_write key.")
        note_api_key_used(key, now)
        return key


def check_rate_limit(key: ApiKey) -> None:
    """Raise RateLimited when the key has used up this minute's requests.

    Counted per key, not per address: one integration behind many workers
    shares one budget, and one noisy key cannot starve the workspace's others.
    """
    retry_after = ratelimit.hit("api-key", str(key.pk), settings.API_RATE_LIMIT_PER_MINUTE)
    if retry_after:
        raise RateLimited(retry_after)


def request_key(request: HttpRequest) -> ApiKey:
    """The API key that authenticated this request."""
    key = getattr(request, "auth", None)
    if not isinstance(key, ApiKey):  # only reachable if a route was declared auth=None
        raise ApiError(401, "Missing API key.")
    return key


def request_workspace(request: HttpRequest) -> Workspace:
    return request_key(request).workspace
