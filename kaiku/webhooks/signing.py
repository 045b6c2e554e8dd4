"""`Kaiku-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.

The timestamp is inside the signed text, so a receiver that also checks it is
recent (5 minutes in docs/webhooks.md) refuses a captured request replayed
later. Each attempt is signed anew with the time of sending; the event id in
the body stays the same, which is what receivers deduplicate on.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

HEADER = "Kaiku-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
# What the documented verification snippet accepts by default.
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    """A signing secret (256 random bits), shown once to the person who creates the endpoint."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={signature(secret, t, body)}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """What a receiver does (same logic as the snippet in docs/webhooks.md)."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return hmac.compare_digest(expected, parts.get("v1", ""))
