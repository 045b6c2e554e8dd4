"""Delighted: the responses CSV export and the API's JSON (survey_response objects).

Assumptions (Delighted's export is not formally specified; docs/import-export.md
lists them): the CSV has one row per response with "Response ID", a date
column ("Date", "Created at", "Response date" or "Timestamp"; ISO 8601, Rails'
`2025-03-04 10:22:13 -0800` or Unix seconds), "Score", "Comment", "Email",
"Name", and the person's properties as further columns, Delighted's own
included ("Delighted Source", "Delighted Country" …). Notes, tags, permalinks
and additional answers are not imported.

The JSON is what `GET /v1/survey_responses.json?expand[]=person` returns
(saved as one array, an object with a list, or one object per line):
`{"id", "person": {"id", "email", "name", "phone_number"} | "<person id>",
"survey_type", "score", "comment", "created_at" (Unix seconds),
"person_properties": {…}}`. Items without a score (Delighted's people
objects) feed a contacts-only import.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import IO, Any

from django.utils.translation import gettext_lazy as _

from kaiku.transfer.importers.base import SourceRow
from kaiku.transfer.importers.formats import ImportFormat, alias_mapping, register
from kaiku.transfer.importers.mapping import IGNORE, parse_value

CSV_ALIASES = {
    "response id": "response_id",
    "id": "response_id",
    "date": "created_at",
    "created at": "created_at",
    "response date": "created_at",
    "response timestamp": "created_at",
    "timestamp": "created_at",
    "responded at": "created_at",
    "score": "score",
    "rating": "score",
    "comment": "comment",
    "email": "email",
    "email address": "email",
    "person email": "email",
    "name": "name",
    "person name": "name",
    "phone number": "phone",
    "phone": "phone",
    "customer id": "external_id",
    "user id": "external_id",
    "external id": "external_id",
    "locale": "language",
    "language": "language",
    "survey type": "ignore",  # Delighted projects hold one survey type; checked in JSON only
    "person id": IGNORE,
    "delighted person id": IGNORE,
    "notes": IGNORE,
    "tags": IGNORE,
    "permalink": IGNORE,
    "updated at": IGNORE,
    "additional answers": IGNORE,
    "last sent at": IGNORE,
    "last responded at": IGNORE,
    # Page addresses are long, can hold tokens and emails, and never make a segment.
    "delighted page url": IGNORE,
    "delighted referrer url": IGNORE,
}
# person_properties keys that are the customer's own id for the person.
EXTERNAL_ID_PROPERTIES = ("customer_id", "customer id", "user_id", "user id", "external_id")
SKIPPED_PROPERTIES = frozenset({"delighted page url", "delighted referrer url"})
LIST_KEYS = ("survey_responses", "responses", "people", "data", "results")


@register
class DelightedCsv(ImportFormat):
    name = "delighted-csv"
    label = _("Delighted CSV export")
    source = "delighted"

    def default_mapping(self, headers: Sequence[str]) -> dict[str, str]:
        return alias_mapping(headers, CSV_ALIASES, ignored_prefixes=("additional answer",))


@register
class DelightedJson(ImportFormat):
    name = "delighted-json"
    label = _("Delighted API JSON")
    source = "delighted"
    is_csv = False
    default_zone = "UTC"

    def json_rows(self, stream: IO[str]) -> Iterator[SourceRow]:
        for number, item in enumerate(_items(stream), start=1):
            yield source_row(number, item)


def _items(stream: IO[str]) -> Iterator[Any]:
    """Items of a JSON array, of a list inside an object, or of JSON Lines (streamed)."""
    first = ""
    for line in stream:
        if line.strip():
            first = line
            break
    try:
        one = json.loads(first)
    except json.JSONDecodeError:
        one = None
    if isinstance(one, dict) and not any(key in one for key in LIST_KEYS):
        yield one  # JSON Lines: one object per line, read as they come
        for line in stream:
            if line.strip():
                yield _loads(line)
        return
    document = json.loads(first + stream.read())
    if isinstance(document, dict):
        document = next(
            (document[k] for k in LIST_KEYS if isinstance(document.get(k), list)), [document]
        )
    if not isinstance(document, list):
        raise ValueError(str(_("The JSON file holds neither a list nor objects.")))
    yield from document


def _loads(line: str) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        return {"__error__": str(exc)}


def source_row(number: int, item: Any) -> SourceRow:
    row = SourceRow(number)
    if not isinstance(item, dict):
        row.problem = str(_("This item is not a JSON object."))
        return row
    if "__error__" in item:
        row.problem = str(
            _("This line is not valid JSON: %(error)s") % {"error": item["__error__"]}
        )
        return row
    row.response_id = str(item.get("id") or "")
    row.kind = str(item.get("survey_type") or "")
    row.score = item.get("score")
    row.comment = item.get("comment") or ""
    row.created_at = item.get("created_at")
    person = item.get("person")
    if not isinstance(person, dict) and "email" in item:
        person = item  # a people object: the item is the person
        row.response_id = ""
    if isinstance(person, dict):
        row.email = str(person.get("email") or "")
        row.name = str(person.get("name") or "")
        row.phone = str(person.get("phone_number") or "")
    properties = item.get("person_properties") or item.get("properties") or {}
    if isinstance(properties, dict):
        row.properties, row.external_id, row.language = _split_properties(properties)
    return row


def _split_properties(properties: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    kept: dict[str, Any] = {}
    external_id = language = ""
    for key, value in properties.items():
        lowered = str(key).strip().lower()
        if lowered in EXTERNAL_ID_PROPERTIES and not external_id:
            external_id = str(value or "")
        elif lowered == "locale" and not language:
            language = str(value or "")
        elif lowered not in SKIPPED_PROPERTIES:
            kept[key] = parse_value(value) if isinstance(value, str) else value
    return kept, external_id, language
