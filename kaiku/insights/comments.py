"""The comments explorer: answers with a comment, filtered like the figures, newest first.

This lists answers for people to read (one page at a time); it never computes a figure.
"""

from __future__ import annotations

from django.db.models import QuerySet

from kaiku.insights.queries.filters import ResponseFilter
from kaiku.insights.queries.grouped import Scope, answers
from kaiku.responses.models import Response


def comments_for(scope: Scope, flt: ResponseFilter, text: str = "") -> QuerySet[Response]:
    found = answers(scope, flt).exclude(comment="")
    if text:
        found = found.filter(comment__icontains=text)
    # created_at, then id: a stable order for pagination when two answers share a second.
    return found.only(
        "id", "score", "comment", "language", "channel", "properties", "created_at", "survey_id"
    ).order_by("-created_at", "-id")
