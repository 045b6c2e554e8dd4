"""Refuse NUL characters in request parameters at the edge.

PostgreSQL text cannot hold U+0000, so a query parameter, form field or JSON
string carrying one would reach the database and fail there with a 500 (SQLite
would store it, and the data could then not move to PostgreSQL). Django's form
fields refuse it already; this covers everything else: query strings on every
route, the URL path itself (link ids and tokens are looked up as text),
urlencoded forms and JSON bodies. Multipart bodies are left to the
forms (an uploaded file may contain NUL bytes legitimately).

The common case costs a substring test: bodies are only parsed when their raw
bytes could encode a NUL. The API answers 422 `invalid` with the field, like any other
invalid value; pages answer 400.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _

from kaiku.lib.middleware import JSON_PREFIXES

NUL = "\x00"


class RefuseNulCharactersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        field = field_with_nul(request)
        if field is not None:
            return refusal(request, field)
        return self.get_response(request)


def field_with_nul(request: HttpRequest) -> str | None:
    """The name (dotted path in JSON) of the first parameter holding a NUL, or None."""
    if NUL in request.path:
        return "path"  # a link id or token in the URL (/s/<public_id>/, /r/<token>/)
    query = request.META.get("QUERY_STRING", "")
    if "%00" in query:
        field = _first_nul(request.GET.lists())
        if field is not None:
            return field
    if request.method not in ("POST", "PUT", "PATCH"):
        return None
    content_type = request.content_type or ""
    if content_type == "application/x-www-form-urlencoded" and b"%00" in request.body:
        return _first_nul(request.POST.lists())
    if content_type.endswith("json") and b"\\u0000" in request.body:
        return _json_nul(request.body)
    return None


def _first_nul(items: Iterable[tuple[str, list[str]]]) -> str | None:
    for key, values in items:
        if NUL in key or any(NUL in value for value in values):
            return key.replace(NUL, "")
    return None


def _json_nul(body: bytes) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None  # not JSON: the view's own parser says so
    return _path_to_nul(document, "")


def _path_to_nul(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if NUL in value else None
    items: Iterable[tuple[object, Any]]
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        here = f"{path}.{key}" if path else str(key)
        if NUL in here:
            return here.replace(NUL, "")
        found = _path_to_nul(item, here)
        if found is not None:
            return found
    return None


def refusal(request: HttpRequest, field: str) -> HttpResponse:
    if request.path.startswith(JSON_PREFIXES):
        # 422 with the field, as the API answers every other invalid value.
        message = "The value contains a NUL character (U+0000), which no field accepts."
        body = {"error": {"code": "invalid", "message": message, "field": field or None}}
        return JsonResponse(body, status=422)
    text = _("The request contains a NUL character, which no field accepts.")
    return HttpResponseBadRequest(text, content_type="text/plain; charset=utf-8")
