"""Formbricks: the responses CSV export of one survey.

The export's columns (Formbricks' `getResponsesJson`): "No.", "Response ID",
"Timestamp" (`2024-06-15 10:00:00`, UTC), "Finished" (Yes/No), "Quotas",
"Survey ID", "Formbricks ID (internal)", "User ID", "Notes", "Tags", then the
response meta ("source", "url", "userAgent - browser", "country" …), one column
per question headed "<n>. <headline>" (choice questions add "<n>. … - Option
ID"), the survey's variables, hidden fields and contact attributes, and
"Verified Email" when the survey verifies emails.

The score is the NPS (or rating) question's column: guessed from its headline
("How likely … recommend …"), or chosen by the person importing; the comment is
the question column after it unless another is chosen. "User ID" is the
contact's external id; attributes named email, firstName, lastName, phone or
language fill the contact; hidden fields, variables, other attributes and meta
such as source or country become answer properties. Other questions' answers,
notes, tags, URLs and user agents are not imported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.utils.translation import gettext_lazy as _

from kaiku.transfer.importers.formats import ImportFormat, alias_mapping, register
from kaiku.transfer.importers.mapping import IGNORE

ALIASES = {
    "response id": "response_id",
    "timestamp": "created_at",
    "date": "created_at",
    "user id": "external_id",
    "userid": "external_id",
    "verified email": "email",
    "email": "email",
    "firstname": "first_name",
    "first name": "first_name",
    "lastname": "last_name",
    "last name": "last_name",
    "name": "name",
    "phone": "phone",
    "language": "language",
    "no.": IGNORE,
    "finished": IGNORE,
    "quotas": IGNORE,
    "survey id": IGNORE,
    "formbricks id (internal)": IGNORE,
    "notes": IGNORE,
    "tags": IGNORE,
    "url": IGNORE,
    "action": IGNORE,
}
IGNORED_PREFIXES = ("useragent - ",)
QUESTION = re.compile(r"^\s*\d+\.\s")
OPTION_ID = " - Option ID"
# Headlines of a recommend question in the languages Kaiku speaks.
SCORE_HINT = re.compile(r"recommend|likely|suosittel|soovita|\bnps\b", re.IGNORECASE)


def question_columns(headers: Sequence[str]) -> list[str]:
    """The answer columns of the survey's questions, in order (choice option ids left out)."""
    return [h for h in headers if QUESTION.match(h) and not h.rstrip().endswith(OPTION_ID)]


def guess_score_column(headers: Sequence[str]) -> str | None:
    questions = question_columns(headers)
    return next((q for q in questions if SCORE_HINT.search(q)), None)


@register
class FormbricksCsv(ImportFormat):
    name = "formbricks"
    label = _("Formbricks CSV export")
    source = "formbricks"
    default_zone = "UTC"
    asks_mapping = True

    def default_mapping(self, headers: Sequence[str]) -> dict[str, str]:
        mapping = alias_mapping(headers, ALIASES, ignored_prefixes=IGNORED_PREFIXES)
        for header in headers:
            if QUESTION.match(header):
                mapping[header] = IGNORE
        score = guess_score_column(headers)
        if score is not None:
            mapping[score] = "score"
            questions = question_columns(headers)
            after = questions[questions.index(score) + 1 :]
            if after:
                mapping[after[0]] = "comment"
        return mapping
