"""The Idempotency-Key of the API's create routes: a header, a body field, or both if equal.

A retried request with the same key finds the first one's result instead of
writing again (responses, events, invitations).
"""

from __future__ import annotations

from typing import Annotated

from django.utils.translation import gettext as _
from ninja import Header

from kaiku.api.errors import ApiError
from kaiku.api.schemas import MAX_IDEMPOTENCY_KEY

# A route parameter: `idempotency_key: IdempotencyKeyHeader = None`.
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=MAX_IDEMPOTENCY_KEY,
        description="Same as the body's idempotency_key.",
    ),
]


def resolve_idempotency_key(in_body: str | None, in_header: str | None) -> str | None:
    """The request's key from either place; a 422 when the two disagree."""
    if in_body and in_header and in_body != in_header:
        raise ApiError(
            422,
            _("The Idempotency-Key header and the body's idempotency_key differ."),
            field="idempotency_key",
        )
    return in_body or in_header or None
