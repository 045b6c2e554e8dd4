"""Bearer authentication with API keys, scope enforcement and per-key rate limits."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from kaiku.accounts.models import Workspace
from kaiku.api.actions import api_key_hash, find_api_key, genuine_key, note_api_key_used
from kaiku.api.errors import ApiError, RateLimited
from kaiku.api.models import ApiKey
from kaiku.lib import plainsql, ratelimit

# Methods a read-only key may use. Deciding by method (not per route) means a
# write route added later cannot forget the scope check.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer kaiku_<prefix>_<secret>` → the key (request.auth).

    Unknown, revoked and expired keys are 401; a read-only key on a write is 403.
    """

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey:
        key, wait = find_and_count(token.strip())
        if key is None:
            raise ApiError(401, "Unknown API key.")
        now = timezone.now()
        if key.revoked_at is not None:
            raise ApiError(401, "This API key has been revoked.")
        if key.is_expired(now):
            raise ApiError(401, "This API key has expired.")
        check_rate_limit(key, wait)
        if request.method not in SAFE_METHODS and not key.can_write:
            raise ApiError(403, "This API key is read-only; writing needs a read_write key.")
        note_api_key_used(key, now)
        return key


def find_and_count(plaintext: str) -> tuple[ApiKey | None, int | None]:
    """find_api_key(), and where the rate-limit store allows (PostgreSQL) the key's
    request counted in the same statement, one round trip less per request:
    (the key or None, seconds to wait or None if not counted yet).

    Only a stored key is counted: unknown keys write no counters.
    """
    key_hash = api_key_hash(plaintext) if ratelimit.counts_in_statements() else None
    if key_hash is None:  # elsewhere, or not shaped like a key (found as None)
        return find_api_key(plaintext), None
    exists = ratelimit.Condition(plainsql.exists_sql(ApiKey, ("key_hash",)), (key_hash,))
    counting = ratelimit.counting(_key_limit(key_hash, exists))
    if counting is None:  # the limit is switched off
        return find_api_key(plaintext), None
    key, counts = plainsql.get_after(counting.before, ApiKey, "workspace", key_hash=key_hash)
    return genuine_key(key, plaintext), counting.wait(counts)


def check_rate_limit(key: ApiKey, counted: int | None = None) -> None:
    """Raise RateLimited when the key has used up this minute's requests.

    `counted`: find_and_count()'s wait, if it counted this request already.
    Counted per key, not per address: one integration behind many workers
    shares one budget, and one noisy key cannot starve the workspace's others.
    """
    retry_after = (
        counted if counted is not None else ratelimit.hit_in_turn(_key_limit(key.key_hash))
    )
    if retry_after:
        raise RateLimited(retry_after)


def _key_limit(key_hash: str, only_if: ratelimit.Condition | None = None) -> ratelimit.Limit:
    # By the key's hash, known before the key is read (see find_and_count).
    return ratelimit.Limit("api-key", key_hash, settings.API_RATE_LIMIT_PER_MINUTE, only_if)


def request_key(request: HttpRequest) -> ApiKey:
    """The API key that authenticated this request."""
    key = getattr(request, "auth", None)
    if not isinstance(key, ApiKey):  # only reachable if a route was declared auth=None
        raise ApiError(401, "Missing API key.")
    return key


def request_workspace(request: HttpRequest) -> Workspace:
    return request_key(request).workspace
