"""Writes of the api app: API keys, and answers recorded through the API."""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kaiku.accounts.models import User, Workspace
from kaiku.api.errors import ApiError
from kaiku.api.models import KEY_PREFIX, PREFIX_LENGTH, ApiKey, Scope, hash_key
from kaiku.contacts.actions import upsert_contact
from kaiku.contacts.models import Contact
from kaiku.lib import plainsql
from kaiku.responses.actions import AnswerRejected, Recorded, record_response
from kaiku.responses.models import Channel
from kaiku.surveys.models import Survey

# 32 characters of base62 ≈ 190 bits: unguessable, so a fast hash is enough (see hash_key).
SECRET_LENGTH = 32
# Alphanumeric only, so that "_" can separate the parts and a double click selects the whole key.
_ALPHABET = string.ascii_letters + string.digits
# last_used_at is informative ("used 3 minutes ago"); writing it on every request
# would turn each GET into a write and serialise busy integrations on one row.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def create_api_key(
    workspace: Workspace,
    name: str,
    scope: str,
    expires_at: datetime | None,
    created_by: User | None,
) -> tuple[ApiKey, str]:
    """A new key and its plaintext. The plaintext is not stored: show it once."""
    if scope not in Scope.values:
        raise ValueError(f"Unknown API key scope: {scope!r}")
    if not name.strip():
        raise ValueError("An API key needs a name")
    prefix = _random(PREFIX_LENGTH)
    plaintext = f"{KEY_PREFIX}_{prefix}_{_random(SECRET_LENGTH)}"
    with transaction.atomic(durable=True):
        key = ApiKey.objects.create(
            workspace=workspace,
            name=name.strip(),
            prefix=prefix,
            key_hash=hash_key(plaintext),
            scope=scope,
            expires_at=expires_at,
            created_by=created_by,
        )
    return key, plaintext


def revoke_api_key(key: ApiKey) -> bool:
    """Revoke a key at once; True if this call revoked it, False if it already was."""
    now = timezone.now()
    revoked = ApiKey.objects.filter(pk=key.pk, revoked_at=None).update(revoked_at=now) == 1
    if revoked:
        key.revoked_at = now
    return revoked


def find_api_key(plaintext: str) -> ApiKey | None:
    """The key with this plaintext (active or not), with its workspace; None if unknown."""
    key_hash = api_key_hash(plaintext)
    return None if key_hash is None else find_hashed_key(key_hash, plaintext)


def find_hashed_key(key_hash: str, plaintext: str) -> ApiKey | None:
    """find_api_key() for a plaintext already hashed (api_key_hash)."""
    # Every API request asks: plain SQL (kaiku.lib.plainsql), not a compiled ORM join.
    return genuine_key(plainsql.get_with_parent(ApiKey, "workspace", key_hash=key_hash), plaintext)


def api_key_hash(plaintext: str) -> str | None:
    """The hash a key with this plaintext is stored under; None if it is not shaped like a key."""
    parts = plaintext.split("_")
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != PREFIX_LENGTH:
        return None
    return hash_key(plaintext)


def genuine_key(key: ApiKey | None, plaintext: str) -> ApiKey | None:
    """`key`, found by the hash of `plaintext`, if its prefix matches too."""
    # Looked up by the hash's unique index; the prefix check is only a sanity check.
    if key is None or not secrets.compare_digest(key.prefix, plaintext.split("_")[1]):
        return None
    return key


def note_api_key_used(key: ApiKey, now: datetime | None = None) -> None:
    """Record that a key was used, at most once a minute per key.

    The in-memory check skips the query entirely on most requests; the conditional
    update makes concurrent requests from many processes write at most once.
    """
    now = now or timezone.now()
    threshold = now - LAST_USED_RESOLUTION
    if key.last_used_at is not None and key.last_used_at > threshold:
        return
    ApiKey.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=threshold), pk=key.pk
    ).update(last_used_at=now)
    key.last_used_at = now


def submit_response(
    survey: Survey,
    *,
    score: int,
    comment: str | None = None,
    contact: Mapping[str, Any] | None = None,
    language: str | None = None,
    properties: Mapping[str, Any] | None = None,
    created_at: datetime | None = None,
    idempotency_key: str | None = None,
) -> Recorded:
    """An answer posted to the API: upsert its contact, then record it.

    record_response commits durably on its own, so the contact upsert cannot
    share its transaction. The checks that depend on the survey run first so
    that a rejected answer does not leave a half-written contact behind.
    Raises AnswerRejected (with the field at fault) or ApiError.
    """
    if not survey.scale_min <= score <= survey.scale_max:
        raise AnswerRejected(
            "score",
            _("The score must be a whole number from %(lo)d to %(hi)d.")
            % {"lo": survey.scale_min, "hi": survey.scale_max},
        )
    if not survey.is_active:
        raise AnswerRejected("survey", _("This survey is closed."), code="inactive")
    found = _upsert_api_contact(survey.workspace, contact) if contact else None
    return record_response(
        survey=survey,
        score=score,
        channel=Channel.API,
        comment=comment,
        contact=found,
        language=language or "",
        properties=properties,
        created_at=created_at,
        idempotency_key=idempotency_key,
    )


def _upsert_api_contact(workspace: Workspace, data: Mapping[str, Any]) -> Contact:
    try:
        return upsert_contact(
            workspace,
            email=data.get("email"),
            external_id=data.get("external_id"),
            name=data.get("name"),
            language=data.get("language"),
            properties=data.get("properties"),
        )
    except ValidationError as exc:
        # upsert_contact names its own fields; the API client sent them under "contact".
        if hasattr(exc, "error_dict"):
            field, messages = next(iter(exc.message_dict.items()))
            raise ApiError(422, str(messages[0]), field=f"contact.{field}") from None
        # A bare error comes from merging properties over the stored ones.
        raise ApiError(422, str(exc.messages[0]), field="contact.properties") from None
