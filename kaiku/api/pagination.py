"""Cursor pagination for list routes: `?limit=50&cursor=<opaque>`.

Keyset pagination (WHERE (created_at, id) < (…)) instead of OFFSET: the database
seeks in the index instead of counting past every earlier row, so page 1,000 of
a busy workspace's responses costs the same as page 1, and rows inserted while a
client pages through cannot shift a page and make it see a row twice.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from kaiku.api.errors import ApiError

DEFAULT_LIMIT = 50
MAX_LIMIT = 100

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class Page(Generic[M]):
    data: list[M]
    next_cursor: str | None


def _encode(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps(plain, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, count: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != count:
        raise ApiError(
            422, _("Invalid cursor: pass next_cursor from a previous page."), field="cursor"
        )
    return values


def _after(model: type[models.Model], ordering: Sequence[str], values: list[Any]) -> Q:
    """Rows strictly after `values` in `ordering` (a lexicographic comparison)."""
    condition = Q()
    equal = Q()
    for name, value in zip(ordering, values, strict=True):
        field_name = name.lstrip("-")
        field = model._meta.get_field(field_name)
        if not isinstance(field, models.Field):
            raise TypeError(f"Cannot paginate on {field_name}")
        try:
            if isinstance(field, models.DateTimeField):
                value = datetime.fromisoformat(value)
            else:
                value = field.to_python(value)
        except (TypeError, ValueError, ValidationError) as exc:
            raise ApiError(422, _("Invalid cursor."), field="cursor") from exc
        lookup = "lt" if name.startswith("-") else "gt"
        condition |= equal & Q(**{f"{field_name}__{lookup}": value})
        equal &= Q(**{field_name: value})
    return condition


def paginate(
    queryset: QuerySet[M], *, ordering: Sequence[str], cursor: str | None, limit: int
) -> Page[M]:
    """One page of `queryset` in `ordering`, which must end with a unique field (pk)."""
    queryset = queryset.order_by(*ordering)
    if cursor:
        values = _decode(cursor, len(ordering))
        queryset = queryset.filter(_after(queryset.model, ordering, values))
    rows = list(queryset[: limit + 1])
    items, more = rows[:limit], len(rows) > limit
    next_cursor = None
    if more and items:
        last = items[-1]
        next_cursor = _encode([getattr(last, name.lstrip("-")) for name in ordering])
    return Page(data=items, next_cursor=next_cursor)
