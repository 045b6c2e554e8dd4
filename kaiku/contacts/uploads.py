"""An uploaded CSV file kept between the import steps (mapping → report → import).

The file is written to KAIKU_DATA_DIR/uploads/ under a random name and the
pages carry a signed reference to it (workspace, user, name), so another
user or workspace cannot name it and nobody can point the importer at an
arbitrary path. It is deleted after a successful import or a cancel, and any
upload older than UPLOAD_TTL is removed whenever someone uploads again, so
nothing is kept for long. With several web servers, KAIKU_DATA_DIR must be
shared (or sticky sessions used); otherwise the next step says the upload has
expired and asks for the file again.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core import signing

UPLOAD_TTL = timedelta(hours=2)
_SALT = "kaiku.contacts.upload"


class UploadExpired(Exception):
    """The reference is forged, for someone else, too old, or its file is gone."""


def _folder() -> Path:
    folder = Path(settings.DATA_DIR) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def store_upload(data: bytes, *, workspace_id: int, user_id: int) -> str:
    """Keep `data`; the signed reference the next steps pass around."""
    remove_stale_uploads()
    name = f"contacts-{secrets.token_hex(16)}.csv"
    (_folder() / name).write_bytes(data)
    return signing.dumps({"n": name, "w": workspace_id, "u": user_id}, salt=_SALT)


def _path(reference: str, workspace_id: int, user_id: int) -> Path:
    try:
        payload = signing.loads(reference, salt=_SALT, max_age=int(UPLOAD_TTL.total_seconds()))
    except signing.BadSignature:
        raise UploadExpired from None
    if not isinstance(payload, dict) or (payload.get("w"), payload.get("u")) != (
        workspace_id,
        user_id,
    ):
        raise UploadExpired
    name = str(payload.get("n", ""))
    if not name.startswith("contacts-") or "/" in name or "\\" in name:
        raise UploadExpired
    return _folder() / name


def load_upload(reference: str, *, workspace_id: int, user_id: int) -> bytes:
    path = _path(reference, workspace_id, user_id)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UploadExpired from None


def delete_upload(reference: str, *, workspace_id: int, user_id: int) -> None:
    with contextlib.suppress(UploadExpired):
        _path(reference, workspace_id, user_id).unlink(missing_ok=True)


def remove_stale_uploads() -> int:
    """Delete uploads older than UPLOAD_TTL; how many went."""
    cutoff = time.time() - UPLOAD_TTL.total_seconds()
    removed = 0
    for path in _folder().glob("contacts-*.csv"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # another process removed it first
            continue
    return removed
