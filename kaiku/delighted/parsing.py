"""Request parameters the way Delighted (a Rails app) reads them.

Delighted's clients send GET parameters as Rails-style bracketed names
(`expand[]=person`, `properties[plan]=pro`), POST/PUT/DELETE bodies as JSON,
and curl users send form-encoded bodies with the same bracketed names. All
three end up as one nested dict here, with query parameters under the body's
(as Rack merges them).

Values that arrive as text stay text; the `as_*` helpers coerce them where a
number, a boolean or a time is expected, and raise ParamError otherwise.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from django.http import HttpRequest

# Bounds that keep a hostile query string from building a huge or deep structure.
MAX_DEPTH = 4
MAX_FIELDS = 1000
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class ParamError(Exception):
    """A parameter has the wrong shape; reported as Delighted's 422 for that field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field} {message}")
        self.field = field
        self.message = message


def parse_pairs(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """`[("a[b]", "1"), ("c[]", "x"), ("c[]", "y")]` → `{"a": {"b": "1"}, "c": ["x", "y"]}`.

    Like Rack: a repeated plain name keeps the last value; `name[]` collects a
    list; `name[key]` builds a dict. Names that do not parse are kept as they are.
    """
    result: dict[str, Any] = {}
    for count, (name, value) in enumerate(pairs):
        if count >= MAX_FIELDS:
            raise ParamError("params", "has too many fields")
        match = _KEY.match(name)
        if match is None:
            result[name] = value
            continue
        parts = [match.group(1), *_PART.findall(match.group(2))]
        if len(parts) > MAX_DEPTH + 1:
            raise ParamError(match.group(1), "is nested too deeply")
        _assign(result, parts, value)
    return result


def _assign(target: dict[str, Any], parts: list[str], value: Any) -> None:
    head, rest = parts[0], parts[1:]
    if not rest:
        target[head] = value
        return
    if rest == [""]:
        existing = target.get(head)
        if not isinstance(existing, list):
            existing = target[head] = []
        existing.append(value)
        return
    if rest[0] == "":
        # `a[][b]=…` (arrays of objects) is not used by any Delighted endpoint.
        raise ParamError(head, "cannot hold a list of objects")
    child = target.get(head)
    if not isinstance(child, dict):
        child = target[head] = {}
    _assign(child, rest, value)


def query_params(request: HttpRequest) -> dict[str, Any]:
    return parse_pairs((key, value) for key in request.GET for value in request.GET.getlist(key))


def request_params(request: HttpRequest) -> dict[str, Any]:
    """Query parameters overlaid with the body's (JSON or form-encoded)."""
    params = query_params(request)
    params.update(body_params(request))
    return params


def body_params(request: HttpRequest) -> dict[str, Any]:
    content_type = (request.content_type or "").lower()
    if request.method == "POST" and content_type == "multipart/form-data":
        return parse_pairs(
            (key, value) for key in request.POST for value in request.POST.getlist(key)
        )
    raw = request.body
    if not raw.strip():
        return {}
    if content_type in _FORM_TYPES:
        text = raw.decode("utf-8", errors="replace")
        return parse_pairs(parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS))
    # Delighted's clients always send JSON; a missing or odd Content-Type with a
    # JSON-looking body is read as JSON too (curl -d defaults to form encoding).
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        if content_type in ("", "text/plain"):
            text = raw.decode("utf-8", errors="replace")
            return parse_pairs(parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS))
        raise ParamError("body", "is not valid JSON") from None
    if not isinstance(data, dict):
        raise ParamError("body", "must be a JSON object")
    return data


# --- Coercion -------------------------------------------------------------------------


def as_text(params: Mapping[str, Any], name: str) -> str | None:
    """A scalar parameter as stripped text; None when absent or empty."""
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool | dict | list):
        raise ParamError(name, "must be text")
    text = str(value).strip()
    return text or None


def as_int(params: Mapping[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ParamError(name, "must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value):
            return int(value)
        raise ParamError(name, "must be an integer")
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d{1,18}\s*", value):
        return int(value)
    raise ParamError(name, "must be an integer")


def as_bool(params: Mapping[str, Any], name: str, default: bool) -> bool:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on", "t"):
        return True
    if text in ("false", "0", "no", "off", "f"):
        return False
    raise ParamError(name, "must be true or false")


def as_time(params: Mapping[str, Any], name: str) -> datetime | None:
    """A Unix timestamp in seconds (Delighted's only time format) as an aware datetime."""
    seconds = as_int(params, name)
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ParamError(name, "is not a valid Unix timestamp") from None


def as_list(params: Mapping[str, Any], name: str) -> list[str]:
    """`expand[]=person&expand[]=notes`, `expand=person` or JSON `["person"]`."""
    value = params.get(name)
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else [value]
    if any(isinstance(item, dict | list) for item in items):
        raise ParamError(name, "must be a list of names")
    return [str(item).strip() for item in items if str(item).strip()]


def as_dict(params: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise ParamError(name, "must be a hash of names to values")
    return value


def unix(value: datetime | None) -> int | None:
    """An aware datetime as Unix seconds, Delighted's only time format."""
    return None if value is None else int(value.timestamp())
