"""Column mapping: which column of a CSV file holds which field.

Built on the contacts importer (kaiku.contacts.importer): the same vocabulary
(`email`, `external_id`, `name`, `phone`, `language`, `property:<name>`,
`ignore`), its header guesses for the contact fields and its value parsing;
added here are the answer's own fields (`response_id`, `score`, `created_at`,
`comment`) and `first_name` / `last_name` (joined into the contact's name).
A mapping is `{header: target}`; columns it does not name fall back to the
format's suggestion.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from kaiku.contacts.importer import IGNORE, PROPERTY, parse_value
from kaiku.contacts.importer import suggest_mapping as suggest_contact_mapping
from kaiku.contacts.models import MAX_PROPERTY_KEY
from kaiku.transfer.importers.base import SourceRow

ANSWER_FIELDS = ("response_id", "score", "created_at", "comment")
CONTACT_FIELDS = ("email", "external_id", "name", "first_name", "last_name", "phone", "language")
FIELDS = ANSWER_FIELDS + CONTACT_FIELDS
FIELD_LABELS = {
    "response_id": _("Answer id"),
    "score": _("Score"),
    "created_at": _("Answer date"),
    "comment": _("Comment"),
    "email": _("Email"),
    "external_id": _("External id"),
    "name": _("Name"),
    "first_name": _("First name"),
    "last_name": _("Last name"),
    "phone": _("Phone"),
    "language": _("Language"),
}

# Header spellings of the answer's fields and name parts, squashed (lower case, no
# spaces, dashes, dots or underscores). Contact fields use the contacts importer's.
GUESSES: dict[str, frozenset[str]] = {
    "response_id": frozenset({"id", "responseid", "answerid", "vastausid"}),
    "score": frozenset({"score", "rating", "nps", "npsscore", "arvosana", "pisteet", "hinne"}),
    "created_at": frozenset(
        {
            "createdat",
            "created",
            "date",
            "timestamp",
            "time",
            "answeredat",
            "respondedat",
            "submittedat",
            "responsedate",
            "paivamaara",
            "päivämäärä",
            "aika",
            "kuupäev",
            "kuupaev",
        }
    ),
    "comment": frozenset(
        {"comment", "comments", "feedback", "reason", "kommentti", "palaute", "kommentaar"}
    ),
    "first_name": frozenset({"firstname", "givenname", "etunimi", "eesnimi"}),
    "last_name": frozenset({"lastname", "surname", "familyname", "sukunimi", "perekonnanimi"}),
}


class MappingError(ValueError):
    """The mapping cannot work; `problems` lists (column, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(
            "; ".join(f"{column}: {message}" if column else message for column, message in problems)
        )
        self.problems = problems


def squash(header: str) -> str:
    return re.sub(r"[\s\-_.]+", "", header.strip().lower())


def property_target(header: str) -> str:
    return PROPERTY + header.strip()[:MAX_PROPERTY_KEY]


def suggest_mapping(headers: Sequence[str]) -> dict[str, str]:
    """A target per column: an answer field by its header, else the contacts importer's guess
    (a contact field, or a property of the same name)."""
    contact_guesses = suggest_contact_mapping(headers)
    taken: set[str] = set()
    mapping: dict[str, str] = {}
    for header, contact_guess in zip(headers, contact_guesses, strict=True):
        squashed = squash(header)
        guess = next((t for t, names in GUESSES.items() if squashed in names), None)
        if guess is None and not contact_guess.startswith(PROPERTY):
            guess = contact_guess
        if guess is not None and guess not in taken:
            taken.add(guess)
            mapping[header] = guess
        else:
            mapping[header] = property_target(header) if header.strip() else IGNORE
    return mapping


def parse_map_options(options: Sequence[str]) -> dict[str, str]:
    """`["Rating=score", "Plan=property:plan", "Notes=ignore"]` → {header: target}."""
    mapping: dict[str, str] = {}
    for option in options:
        header, target = _split_map_option(option)
        if not header.strip() or not target.strip():
            raise MappingError([("", f"--map expects COLUMN=FIELD, got {option!r}")])
        mapping[header.strip()] = target.strip()
    return mapping


def _split_map_option(option: str) -> tuple[str, str]:
    """At the first `=` whose right side is a target: headers and property names may hold `=`."""
    positions = [i for i, char in enumerate(option) if char == "="]
    for i in positions:
        target = option[i + 1 :].strip()
        if target in FIELDS or target == IGNORE or target.startswith(PROPERTY):
            return option[:i], target
    if not positions:
        return "", ""
    return option[: positions[-1]], option[positions[-1] + 1 :]


def check_mapping(
    headers: Sequence[str], mapping: Mapping[str, str], *, contacts_only: bool = False
) -> None:
    """Raise MappingError unless every column has a valid target and the needed ones exist."""
    problems: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for header, target in mapping.items():
        if header not in headers:
            problems.append((header, str(_("There is no such column in the file."))))
        elif message := _target_problem(target, seen.get(target)):
            problems.append((header, message))
        if target != IGNORE:
            seen.setdefault(target, header)
    targets = set(mapping.values())
    needed = [] if contacts_only else ["score", "created_at"]
    for target in needed:
        if target not in targets:
            problems.append(
                (
                    "",
                    str(
                        _("Choose the column that holds: %(field)s.")
                        % {"field": FIELD_LABELS[target]}
                    ),
                )
            )
    if contacts_only and not targets & {"email", "external_id"}:
        problems.append(("", str(_("Map a column to email or to external id to match contacts."))))
    if problems:
        raise MappingError(problems)


def _target_problem(target: str, taken_by: str | None) -> str:
    if target == IGNORE:
        return ""
    if target.startswith(PROPERTY):
        name = target.removeprefix(PROPERTY).strip()
        if not name or len(name) > MAX_PROPERTY_KEY:
            return str(
                _("Property names must be 1 to %(max)d characters.") % {"max": MAX_PROPERTY_KEY}
            )
    elif target not in FIELDS:
        return str(_("Unknown field %(target)s.") % {"target": target[:40]})
    if taken_by is not None:
        return str(_("%(other)s is already mapped to the same field.") % {"other": taken_by})
    return ""


@dataclass(frozen=True)
class Layout:
    """A mapping compiled against a header: column positions per target, for the hot loop."""

    fields: tuple[tuple[int, str], ...]
    properties: tuple[tuple[int, str], ...]
    first_name: int | None
    last_name: int | None
    width: int

    @classmethod
    def compile(cls, headers: Sequence[str], mapping: Mapping[str, str]) -> Layout:
        index = {header: i for i, header in reversed(list(enumerate(headers)))}
        fields, properties = [], []
        names: dict[str, int] = {}
        for header, target in mapping.items():
            position = index[header]
            if target in ("first_name", "last_name"):
                names[target] = position
            elif target.startswith(PROPERTY):
                properties.append((position, target.removeprefix(PROPERTY).strip()))
            elif target != IGNORE:
                fields.append((position, target))
        return cls(
            tuple(fields),
            tuple(properties),
            names.get("first_name"),
            names.get("last_name"),
            len(headers),
        )

    def source_row(self, number: int, cells: list[str]) -> SourceRow:
        if len(cells) < self.width:
            cells = cells + [""] * (self.width - len(cells))
        row = SourceRow(number)
        for position, target in self.fields:
            setattr(row, target, cells[position])
        row.properties = {
            key: parse_value(value)
            for position, key in self.properties
            if (value := cells[position].strip())
        }
        if not row.name and (self.first_name is not None or self.last_name is not None):
            parts = [cells[i].strip() for i in (self.first_name, self.last_name) if i is not None]
            row.name = " ".join(part for part in parts if part)
        return row
