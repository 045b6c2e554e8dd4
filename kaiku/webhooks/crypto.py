"""Webhook signing secrets encrypted at rest.

The secret must be readable to sign each delivery, so unlike API keys it cannot
be stored as a hash. It is encrypted with Fernet (AES-128-CBC + HMAC-SHA256)
under a key derived from SECRET_KEY: a leaked database dump or backup alone
does not reveal it. Rotating KAIKU_SECRET_KEY keeps working as long as the old
key is listed in Django's SECRET_KEY_FALLBACKS; without it, stored secrets can
no longer be read and each endpoint needs a new secret (docs/webhooks.md).
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

# Domain separation: this derived key is used for nothing else.
_CONTEXT = b"kaiku.webhooks.secret.v1\0"


class SecretUnreadable(Exception):
    """The stored secret was encrypted under a SECRET_KEY that is no longer configured."""


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(_CONTEXT + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _keys() -> MultiFernet:
    fallbacks = list(getattr(settings, "SECRET_KEY_FALLBACKS", []) or [])
    return MultiFernet([_fernet(key) for key in [settings.SECRET_KEY, *fallbacks]])


def encrypt_secret(plaintext: str) -> str:
    return _keys().encrypt(plaintext.encode()).decode()


def decrypt_secret(token: str) -> str:
    try:
        return _keys().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "The webhook secret cannot be decrypted with SECRET_KEY (or its fallbacks)."
        ) from None
