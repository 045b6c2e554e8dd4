"""Signed identity claims on public links: `?uid=<external id>&sig=<hex HMAC>`.

The signature is HMAC-SHA256 over the contact's external id, keyed with the
workspace secret, in lowercase hex. Only the customer's server knows the
secret, so only links it generated can speak for a contact; anyone else's
claim is ignored and the answer is stored anonymously. A signed link does not
expire: treat it like the contact's personal survey link.
"""

from __future__ import annotations

import hashlib
import hmac

from kaiku.accounts.models import Workspace

MAX_UID_LENGTH = 128


def sign_uid(workspace: Workspace, uid: str) -> str:
    return hmac.new(workspace.secret.encode(), uid.encode(), hashlib.sha256).hexdigest()


def verified_uid(workspace: Workspace, uid: str | None, sig: str | None) -> str | None:
    """The external id if `sig` signs it, else None (never an error: just anonymous)."""
    if not uid or not sig or len(uid) > MAX_UID_LENGTH or len(sig) != 64:
        return None
    # Constant time: a timing difference would let a stranger guess signatures.
    if hmac.compare_digest(sign_uid(workspace, uid), sig.lower()):
        return uid
    return None
