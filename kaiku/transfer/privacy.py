"""Which response properties identify a person: the one rule erase and retention share.

Scores and segment properties (plan, country, tier …) survive an erase, so
statistics by segment stay correct; anything that points at the person goes.
A property is removed when any of these holds:

1. its key, normalised (lower case, camelCase and punctuation → `_`), is in
   IDENTIFYING_PROPERTIES or in the KAIKU_GDPR_IDENTIFYING_PROPERTIES setting;
2. one of the key's parts is in IDENTIFYING_KEY_PARTS (`billing_email`,
   `mobilePhone`, `ip_address`);
3. its value is text that looks like an email address, contains one of the
   contact's own identifiers (email, phone, name, external id), or is longer
   than FREE_TEXT_LENGTH characters (free text, not a segment label).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings

IDENTIFYING_PROPERTIES = frozenset(
    {
        "email",
        "e_mail",
        "name",
        "first_name",
        "firstname",
        "last_name",
        "lastname",
        "full_name",
        "fullname",
        "surname",
        "given_name",
        "family_name",
        "display_name",
        "username",
        "user_name",
        "login",
        "phone",
        "phone_number",
        "mobile",
        "address",
        "street",
        "street_address",
        "postal_address",
        "postcode",
        "zip",
        "zip_code",
        "birthday",
        "birth_date",
        "date_of_birth",
        "ssn",
        "national_id",
        "personal_id",
        "id",
        "uid",
        "user_id",
        "customer_id",
        "contact_id",
        "person_id",
        "external_id",
        "account_email",
        "ip",
        "ip_address",
        "user_agent",
        "delighted_person_id",
        "formbricks_contact_id",
        "comment",
        "feedback",
        "notes",
    }
)
IDENTIFYING_KEY_PARTS = frozenset({"email", "phone", "mobile", "address", "ip", "ssn", "birthday"})
FREE_TEXT_LENGTH = 100
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise_key(key: str) -> str:
    """`billingEmail`, `Billing-Email`, `billing email` → `billing_email`."""
    return _NON_ALNUM.sub("_", _CAMEL.sub("_", key).lower()).strip("_")


def identifying_keys() -> frozenset[str]:
    extra = getattr(settings, "GDPR_IDENTIFYING_PROPERTIES", ())
    return IDENTIFYING_PROPERTIES | {normalise_key(key) for key in extra}


def is_identifying_key(key: str, keys: frozenset[str] | None = None) -> bool:
    normalised = normalise_key(key)
    if normalised in (keys if keys is not None else identifying_keys()):
        return True
    return any(part in IDENTIFYING_KEY_PARTS for part in normalised.split("_"))


def is_identifying_value(value: Any, identifiers: Iterable[str] = ()) -> bool:
    if not isinstance(value, str):
        return False
    if len(value) > FREE_TEXT_LENGTH or _EMAIL.search(value):
        return True
    lowered = value.lower()
    return any(ident and ident in lowered for ident in identifiers)


def strip_identifying(
    properties: Mapping[str, Any] | None, identifiers: Iterable[str] = ()
) -> dict[str, Any]:
    """The properties that do not identify anyone (see the module docstring)."""
    keys = identifying_keys()
    # Identifiers shorter than 3 characters ("Al", "7") would match half the labels.
    idents = [i.strip().lower() for i in identifiers if i and len(i.strip()) >= 3]
    return {
        key: value
        for key, value in (properties or {}).items()
        if not is_identifying_key(key, keys) and not is_identifying_value(value, idents)
    }


def erased_key(secret: str, key: str) -> str:
    """What an erased response's idempotency key becomes.

    A keyed hash: still unique (so the constraint holds) and still recognisable
    by an importer holding the workspace secret (so re-importing an old file
    does not bring the person's answer back), but no longer a readable id.
    """
    if key.startswith("erased:"):
        return key
    digest = hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()
    return f"erased:{digest[:48]}"
