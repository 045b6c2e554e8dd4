"""The APIs' language: what LocaleMiddleware would choose, chosen cheaply.

The REST and Delighted-compatible APIs write their messages in the language of
the client's `Accept-Language` header (else LANGUAGE_CODE), chosen by Django's
own rules. LocaleMiddleware does more than the APIs need: it reads the language
cookie (nothing on the APIs rides on a cookie: docs/security.md), looks for a
language prefix in every URL path twice (Kaiku has no `i18n_patterns`) and
parses the header on every request: 0.03 ms of an API answer on SQLite, 0.05
ms on PostgreSQL, measured (docs/performance.md). Here a header's language is
worked out once per distinct header.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation.trans_real import language_code_re, parse_accept_lang_header


class AcceptLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        translation.activate(language_for(request.META.get("HTTP_ACCEPT_LANGUAGE", "")))
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        # As LocaleMiddleware: the language the response ended in, and caches told
        # that the answer depends on the header.
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


@lru_cache(maxsize=256)
def language_for(accept_language: str) -> str:
    """The first supported language of the header, as Django's get_language_from_request()
    picks it (a variant like `fi-FI` → `fi`; `*` stops the search), else LANGUAGE_CODE."""
    for code, _quality in parse_accept_lang_header(accept_language):
        if code == "*":
            break
        if not language_code_re.search(code):
            continue
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    try:
        return translation.get_supported_language_variant(settings.LANGUAGE_CODE)
    except LookupError:
        return str(settings.LANGUAGE_CODE)
