"""kaiku.lib.language picks the language Django's LocaleMiddleware picks from the header."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.utils import translation

from kaiku.lib.language import language_for

HEADERS = [
    "", "fi", "fi-FI", "FI-fi", "et-EE,et;q=0.9,en;q=0.8", "en-GB,en;q=0.9", "de-DE,de;q=0.9",
    "de, et;q=0.2", "*", "fi;q=0, et", "sv, *", "zh-Hant-TW", "x" * 300, "fi;q=abc",
    "et;q=0.5, fi;q=0.8", "en-us", "nb-NO, fi", ",,,", "é", "fi_FI",
]  # fmt: skip


@pytest.mark.parametrize("header", HEADERS)
def test_same_language_as_django(header: str) -> None:
    request = RequestFactory().get("/api/v1/surveys", HTTP_ACCEPT_LANGUAGE=header)
    assert language_for(header) == translation.get_language_from_request(request)
