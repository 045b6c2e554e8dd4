"""Contacts from a CSV file: read, map columns, check every row, then import all or nothing.

The steps, each usable on its own (the web pages, `kaiku import_contacts` and
other importers share them):

1. `read_csv(data)`: UTF-8 with or without a BOM, comma or semicolon.
2. `suggest_mapping(headers)`: a target for each column, guessed from its header
   (`email`, `external_id`, `name`, `phone`, `language`, `property:<name>`, `ignore`).
3. `plan_import(workspace, table, mapping)`: every row checked against the
   mapping and the contacts already stored; a report of problems by row number
   (the file's line number, header = 1, as a spreadsheet shows it) and how
   many contacts would be created, updated or left unchanged. Writes nothing.
4. `import_contacts(...)`: plans again inside one durable transaction and
   writes with bulk_create / bulk_update in batches, or raises ImportRejected
   and writes nothing. A file imported twice changes nothing the second time.

Matching follows `upsert_contact`: by external id, else by email; an email that
belongs to a contact with another external id stays with that contact. Empty
cells leave stored values alone; properties are merged key by key.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from kaiku.accounts.models import SUPPORTED_LANGUAGES, Workspace
from kaiku.contacts.actions import MAX_EXTERNAL_ID, MAX_NAME, MAX_PHONE, normalise_language
from kaiku.contacts.models import MAX_PROPERTY_KEY, Contact, validate_properties

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
MAX_COLUMNS = 60
MAX_REPORTED = 200  # problems listed in a report; the count is always exact
BATCH = 500
FIELDS = ("email", "external_id", "name", "phone", "language")
PROPERTY = "property:"
IGNORE = "ignore"
_NUMBER = re.compile(r"^-?(0|[1-9][0-9]{0,14})(\.[0-9]{1,10})?$")

# Header spellings (lower-cased, without spaces, dashes, dots and underscores).
_HEADER_GUESSES = {
    "email": {"email", "emailaddress", "mail", "sahkoposti", "sähköposti", "epost", "eposti"},
    "external_id": {
        "externalid",
        "id",
        "customerid",
        "customerno",
        "customernumber",
        "userid",
        "clientid",
        "asiakasnumero",
        "asiakasnro",
        "kliendinr",
    },
    "name": {"name", "fullname", "nimi", "nimetus", "customername", "contactname"},
    "phone": {"phone", "phonenumber", "mobile", "puhelin", "telefon", "tel"},
    "language": {"language", "lang", "locale", "kieli", "keel"},
}


class CsvError(ValueError):
    """The file cannot be read as a CSV table; the message says why."""

    def __init__(self, message: StrOrPromise) -> None:
        super().__init__(str(message))
        self.message = message


class ImportRejected(Exception):
    """The import was refused and nothing was written; `plan` holds the report."""

    def __init__(self, plan: ImportPlan) -> None:
        super().__init__(f"{len(plan.problems)} problems")
        self.plan = plan


@dataclass(frozen=True)
class CsvTable:
    headers: list[str]
    rows: list[list[str]]  # data rows, padded to the header's width
    delimiter: str


@dataclass(frozen=True)
class Problem:
    row: int | None  # the file's line number (header = 1); None: about the mapping
    column: str
    message: str


@dataclass
class _Row:
    line: int
    email: str | None = None
    external_id: str | None = None
    name: str | None = None
    phone: str | None = None
    language: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportPlan:
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    creates: list[Contact] = field(default_factory=list)
    updates: list[Contact] = field(default_factory=list)
    update_fields: set[str] = field(default_factory=set)
    unchanged: int = 0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def add(self, row: int | None, column: str, message: StrOrPromise) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_REPORTED:
            self.problems.append(Problem(row, column, str(message)))


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int


# --- 1. Reading -------------------------------------------------------------------


def read_csv(data: bytes) -> CsvTable:
    """The table in `data`, or CsvError in words a person can act on."""
    if len(data) > MAX_FILE_BYTES:
        raise CsvError(_("The file is larger than 20 MB; split it into smaller files."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvError(
            _("The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again.")
        ) from None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise CsvError(
            _("The file is not a valid CSV file (%(error)s).") % {"error": exc}
        ) from None
    records = [record for record in records if any(cell.strip() for cell in record)]
    if not records:
        raise CsvError(_("The file is empty."))
    headers = [header.strip() for header in records[0]]
    _check_headers(headers)
    rows = records[1:]
    if not rows:
        raise CsvError(_("The file has a header row but no contacts."))
    if len(rows) > MAX_ROWS:
        raise CsvError(_("The file has more than %(max)d rows.") % {"max": MAX_ROWS})
    width = len(headers)
    padded = [(row + [""] * width)[:width] if len(row) != width else row for row in rows]
    return CsvTable(headers, padded, delimiter)


def _check_headers(headers: list[str]) -> None:
    if len(headers) > MAX_COLUMNS:
        raise CsvError(_("The file has more than %(max)d columns.") % {"max": MAX_COLUMNS})
    if any(not header for header in headers):
        raise CsvError(_("Every column needs a name in the first row."))
    seen: set[str] = set()
    for header in headers:
        if header.lower() in seen:
            raise CsvError(_("Two columns are called %(name)s.") % {"name": header})
        seen.add(header.lower())


# --- 2. Mapping ------------------------------------------------------------------------


def _squash(header: str) -> str:
    return re.sub(r"[\s\-_.]+", "", header.strip().lower())


def suggest_mapping(headers: Sequence[str]) -> list[str]:
    """A target per column: a known field by its header, else a property of the same name."""
    taken: set[str] = set()
    mapping = []
    for header in headers:
        squashed = _squash(header)
        guess = next(
            (target for target, names in _HEADER_GUESSES.items() if squashed in names), None
        )
        if guess is not None and guess not in taken:
            taken.add(guess)
            mapping.append(guess)
        else:
            mapping.append(PROPERTY + header.strip()[:MAX_PROPERTY_KEY])
    return mapping


def check_mapping(headers: Sequence[str], mapping: Sequence[str]) -> list[Problem]:
    """Problems with the mapping itself (a column twice, no email nor external id …)."""
    problems: list[Problem] = []
    if len(mapping) != len(headers):
        return [Problem(None, "", str(_("Choose what each column holds.")))]
    seen: dict[str, str] = {}
    for header, target in zip(headers, mapping, strict=True):
        problem = _check_target(header, target, seen)
        if problem:
            problems.append(Problem(None, header, str(problem)))
        seen.setdefault(target, header)
    if "email" not in mapping and "external_id" not in mapping:
        problems.append(
            Problem(None, "", str(_("Map a column to email or to external id to match contacts.")))
        )
    return problems


def _check_target(header: str, target: str, seen: dict[str, str]) -> StrOrPromise | None:
    if target == IGNORE:
        return None
    if target.startswith(PROPERTY):
        name = target.removeprefix(PROPERTY).strip()
        if not name or len(name) > MAX_PROPERTY_KEY:
            return _("Property names must be 1 to %(max)d characters.") % {"max": MAX_PROPERTY_KEY}
    elif target not in FIELDS:
        return _("Choose what this column holds.")
    if target in seen and target != IGNORE:
        return _("%(other)s is already mapped to the same field.") % {"other": seen[target]}
    return None


# --- 3. Checking rows ----------------------------------------------------------------


def parse_value(text: str) -> Any:
    """Numbers and true/false become JSON numbers and booleans (so filters can compare them).

    Leading zeros keep a value text: "00100" is a postcode, not 100.
    """
    if _NUMBER.match(text):
        return float(text) if "." in text else int(text)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def _parse_row(
    line: int, cells: list[str], headers: Sequence[str], mapping: Sequence[str], plan: ImportPlan
) -> _Row | None:
    row = _Row(line)
    before = plan.problem_count
    for header, target, raw in zip(headers, mapping, cells, strict=True):
        value = raw.strip()
        if target == IGNORE or not value:
            continue
        if target.startswith(PROPERTY):
            row.properties[target.removeprefix(PROPERTY).strip()] = parse_value(value)
            continue
        problem = _check_field(target, value)
        if problem is not None:
            plan.add(line, header, problem)
            continue
        if target == "email":
            value = value.lower()
        elif target == "language":
            value = normalise_language(value)
        setattr(row, target, value)
    if row.email is None and row.external_id is None and plan.problem_count == before:
        plan.add(line, "", _("The row has neither an email address nor an external id."))
    try:
        validate_properties(row.properties)
    except ValidationError as exc:
        plan.add(line, "", " ".join(exc.messages))
    return row if plan.problem_count == before else None


def _check_field(target: str, value: str) -> StrOrPromise | None:
    limits = {"external_id": MAX_EXTERNAL_ID, "name": MAX_NAME, "phone": MAX_PHONE}
    if target == "email":
        try:
            validate_email(value)
        except ValidationError:
            return _("%(value)s is not a valid email address.") % {"value": value[:100]}
        if len(value) > 254:
            return _("The email address is too long.")
    elif target == "language":
        if not normalise_language(value):
            return _("Unknown language %(value)s; use one of %(codes)s.") % {
                "value": value[:20],
                "codes": ", ".join(SUPPORTED_LANGUAGES),
            }
    elif len(value) > limits[target]:
        return _("Longer than %(max)d characters.") % {"max": limits[target]}
    return None


def _check_duplicates(rows: list[_Row], plan: ImportPlan) -> None:
    """The same email or external id twice in one file is ambiguous: which row wins?"""
    first_by: dict[tuple[str, str], int] = {}
    for row in rows:
        for kind, value in (("external_id", row.external_id), ("email", row.email)):
            if value is None:
                continue
            if (kind, value) in first_by:
                plan.add(
                    row.line,
                    kind,
                    _("%(value)s is also on row %(row)d.")
                    % {"value": value[:100], "row": first_by[(kind, value)]},
                )
            else:
                first_by[(kind, value)] = row.line


def plan_import(workspace: Workspace, table: CsvTable, mapping: Sequence[str]) -> ImportPlan:
    """Check everything and work out the writes; nothing is written."""
    plan = ImportPlan()
    for problem in check_mapping(table.headers, mapping):
        plan.add(problem.row, problem.column, problem.message)
    if not plan.ok:
        return plan
    rows = [
        row
        for line, cells in enumerate(table.rows, start=2)
        if (row := _parse_row(line, cells, table.headers, mapping, plan)) is not None
    ]
    _check_duplicates(rows, plan)
    if plan.ok:
        _match(workspace, rows, plan)
    return plan


# --- Matching rows to stored contacts -------------------------------------------------


def _existing(workspace: Workspace, rows: list[_Row]) -> list[Contact]:
    emails = sorted({row.email for row in rows if row.email})
    ids = sorted({row.external_id for row in rows if row.external_id})
    found: dict[int, Contact] = {}
    for chunk in _chunks(emails):
        for contact in Contact.objects.filter(workspace=workspace, email__in=chunk).order_by():
            found[contact.pk] = contact
    for chunk in _chunks(ids):
        for contact in Contact.objects.filter(
            workspace=workspace, external_id__in=chunk
        ).order_by():
            found[contact.pk] = contact
    return list(found.values())


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), BATCH):
        yield values[start : start + BATCH]


def _match(workspace: Workspace, rows: list[_Row], plan: ImportPlan) -> None:
    existing = _existing(workspace, rows)
    by_external = {c.external_id: c for c in existing if c.external_id}
    by_email = {c.email: c for c in existing if c.email}
    # Addresses held by someone, before or because of this import: never given twice.
    held = set(by_email)
    now = timezone.now()
    for row in rows:
        contact = by_external.get(row.external_id) if row.external_id else None
        if contact is None and row.email:
            candidate = by_email.get(row.email)
            if candidate is not None and (row.external_id is None or not candidate.external_id):
                contact = candidate
        if contact is None:
            email = None if row.email in held else row.email
            if email:
                held.add(email)
            plan.creates.append(_new_contact(workspace, row, email, now))
            continue
        changed = _apply(contact, row, held)
        try:
            validate_properties(contact.properties)
        except ValidationError as exc:
            plan.add(row.line, "", " ".join(exc.messages))
            continue
        if changed:
            contact.updated_at = now
            plan.updates.append(contact)
            plan.update_fields.update(changed)
        else:
            plan.unchanged += 1


def _new_contact(workspace: Workspace, row: _Row, email: str | None, now: Any) -> Contact:
    return Contact(
        workspace=workspace,
        email=email,
        external_id=row.external_id,
        name=row.name or "",
        phone=row.phone or "",
        language=row.language or "",
        properties=row.properties,
        created_at=now,
        updated_at=now,
    )


def _apply(contact: Contact, row: _Row, held: set[str]) -> list[str]:
    changed = []
    wanted: dict[str, Any] = {
        "external_id": row.external_id,
        "name": row.name,
        "phone": row.phone,
        "language": row.language,
    }
    if row.email and row.email != contact.email and row.email not in held:
        wanted["email"] = row.email
        held.add(row.email)
    for name, value in wanted.items():
        if value is not None and getattr(contact, name) != value:
            setattr(contact, name, value)
            changed.append(name)
    if row.properties:
        merged = {**contact.properties, **row.properties}
        if merged != contact.properties:
            contact.properties = merged
            changed.append("properties")
    return changed


# --- 4. Importing ---------------------------------------------------------------------


def import_contacts(workspace: Workspace, table: CsvTable, mapping: Sequence[str]) -> ImportResult:
    """Create and update every contact of the file in one transaction, or none.

    Raises ImportRejected (with the report) when any row has a problem. The
    plan is made again inside the transaction, so contacts changed since the
    report was shown are matched as they are now.
    """
    try:
        with transaction.atomic(durable=True):
            plan = plan_import(workspace, table, mapping)
            if not plan.ok:
                raise ImportRejected(plan)
            Contact.objects.bulk_create(plan.creates, batch_size=BATCH)
            if plan.updates:
                fields = sorted(plan.update_fields | {"updated_at"})
                Contact.objects.bulk_update(plan.updates, fields, batch_size=BATCH)
    except IntegrityError:
        # Someone added one of these contacts between our read and our write.
        raced = ImportPlan()
        raced.add(None, "", _("Contacts changed while importing; nothing was imported. Try again."))
        raise ImportRejected(raced) from None
    return ImportResult(len(plan.creates), len(plan.updates), plan.unchanged)
