"""Bearer authentication with API keys, scope enforcement and per-key rate limits."""

from __future__ import annotations

import json
from typing import cast

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from kaiku.accounts.models import Workspace
from kaiku.api.actions import api_key_hash, find_hashed_key, genuine_key, note_api_key_used
from kaiku.api.errors import ApiError, RateLimited
from kaiku.api.models import ApiKey
from kaiku.lib import plainsql, ratelimit
from kaiku.surveys.models import Survey

# Methods a read-only key may use. Deciding by method (not per route) means a
# write route added later cannot forget the scope check.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Bodies up to this size are peeked at for the survey they name (survey_in_body).
PEEK_LIMIT = 16_384


class ApiKeyAuth(HttpBearer):
    """`Authorization: Bearer kaiku_<prefix>_<secret>` → the key (request.auth).

    Unknown, revoked and expired keys are 401; a read-only key on a write is 403.
    """

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey:
        key, wait = find_and_count(token.strip(), survey_in_body(request))
        if key is None:
            raise ApiError(401, _("Unknown API key."))
        now = timezone.now()
        if key.revoked_at is not None:
            raise ApiError(401, _("This API key has been revoked."))
        if key.is_expired(now):
            raise ApiError(401, _("This API key has expired."))
        check_rate_limit(key, wait)
        if request.method not in SAFE_METHODS and not key.can_write:
            raise ApiError(403, _("This API key is read-only; writing needs a read_write key."))
        note_api_key_used(key, now)
        return key


def find_and_count(
    plaintext: str, survey_id: int | None = None
) -> tuple[ApiKey | None, int | None]:
    """find_api_key() in one statement with what else the request will ask:
    (the key or None, seconds to wait or None if not counted yet).

    Where the rate-limit store allows (PostgreSQL), the key's request is counted in
    that statement; only a stored key is counted, unknown keys write no counters.
    With `survey_id` (the survey a JSON body names), it reads the survey too if it
    is the key's workspace's, and the key's workspace object keeps the answer for
    Survey.objects.in_workspace to take instead of asking. Each is a round trip
    less on the API's answer path.
    """
    key_hash = api_key_hash(plaintext)
    if key_hash is None:  # not shaped like a key
        return None, None
    counting = None
    if ratelimit.counts_in_statements():
        exists = ratelimit.Condition(plainsql.exists_sql(ApiKey, ("key_hash",)), (key_hash,))
        counting = ratelimit.counting(_key_limit(key_hash, exists))  # None: switched off
    if counting is None and survey_id is None:
        return find_hashed_key(key_hash, plaintext), None
    sibling = plainsql.Sibling(Survey, "workspace", survey_id) if survey_id is not None else None
    before = counting.before if counting is not None else plainsql.NOTHING
    key, counts, survey = plainsql.get_after_with(
        before, ApiKey, "workspace", sibling, key_hash=key_hash
    )
    if key is not None and survey_id is not None:
        Survey.objects.read_with(key.workspace, survey_id, cast(Survey | None, survey))
    return genuine_key(key, plaintext), counting.wait(counts) if counting is not None else None


def survey_in_body(request: HttpRequest) -> int | None:
    """The survey id a small POSTed JSON object names (`{"survey": 12, …}`), if any;
    the route's own parsing still validates the body."""
    if request.method != "POST" or request.content_type != "application/json":
        return None
    try:
        body = request.body
        # An answer is a few hundred bytes; a large body (an import) is not parsed twice.
        document = json.loads(body) if len(body) <= PEEK_LIMIT else None
    except (ValueError, RequestDataTooBig):
        return None  # the route's parser gives the error
    survey = document.get("survey") if isinstance(document, dict) else None
    return survey if type(survey) is int else None


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
        raise ApiError(401, _("Missing API key."))
    return key


def request_workspace(request: HttpRequest) -> Workspace:
    return request_key(request).workspace
