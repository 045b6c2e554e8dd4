"""Write checked rows in batches: contacts found or created in bulk, answers inserted in bulk.

Each batch is one durable transaction: it is all in or all out. A crash (or a
stopped worker) mid-import leaves the batches before it committed; running
the same file again skips them by their idempotency keys and carries on, so
an import is resumable by re-running it.

Speed (a million rows in well under two minutes, see bench/import.py):
- Contacts are looked up once per import: the people already matched or
  created are remembered (identity → id), so a customer who answered twenty
  times costs one lookup, not twenty.
- Duplicate keys are only looked up when the workspace already holds answers
  from this source (or erased ones). On a first import the unique constraint
  is the check: a repeated row makes the batch fail, and the batch is redone
  with lookups (the careful path), as it is after any IntegrityError.
- Answers are inserted with one executemany (kaiku.transfer.fastinsert).

Imported answers are history: they do not go through `process_response`
(no webhooks, alerts or cases for answers given years ago). Only the comment
language is detected afterwards, in one job per batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from kaiku.accounts.models import Workspace
from kaiku.contacts.models import MAX_PROPERTIES, Contact
from kaiku.responses.models import Channel, Response
from kaiku.surveys.models import Survey
from kaiku.transfer.fastinsert import insert_rows, insert_tuples
from kaiku.transfer.importers.base import ValidRow
from kaiku.transfer.privacy import erased_key

# IN (...) lists stay under SQLite's historical 999-variable limit.
LOOKUP_CHUNK = 900
Identity = tuple[str, str]  # ("external_id" | "email", value)
RESPONSE_FIELDS = (
    "workspace_id",
    "survey_id",
    "contact_id",
    "score",
    "scale_min",
    "scale_max",
    "comment",
    "language",
    "channel",
    "properties",
    "source_ref",
    "idempotency_key",
    "created_at",
)
CONTACT_FIELDS = (
    "workspace_id",
    "email",
    "external_id",
    "name",
    "phone",
    "language",
    "properties",
    "created_at",
)


@dataclass
class BatchResult:
    created: int = 0
    duplicates: int = 0
    contacts_created: int = 0
    contacts_updated: int = 0


@dataclass(slots=True)
class Person:
    """A contact as the import knows it: its id (0 until inserted) and language."""

    pk: int
    language: str
    email: str | None = None
    external_id: str | None = None


@dataclass
class _Batch:
    """One batch's view of its people: found in the database, or new."""

    found: dict[Identity, Person] = field(default_factory=dict)
    new: list[tuple[Person, ValidRow]] = field(default_factory=list)
    changed: list[Contact] = field(default_factory=list)


class BatchWriter:
    """Writes batches for one import. With dry_run it reads the database and writes nothing."""

    def __init__(
        self, workspace: Workspace, survey: Survey | None, *, dry_run: bool, source: str = ""
    ) -> None:
        self.workspace = workspace
        self.survey = survey
        self.dry_run = dry_run
        # People matched or created so far in this import (committed batches only).
        self.people: dict[Identity, Person] = {}
        self.careful = dry_run or self._has_history(source)
        self._seen_keys: set[int] = set()  # dry run: keys earlier batches would have written

    def _has_history(self, source: str) -> bool:
        """Does the workspace hold answers this import could repeat? Then look keys up.

        startswith, not a key range: under PostgreSQL's usual (non-C) collations
        punctuation sorts unlike bytes, and a range could miss erased keys, the
        one case the unique constraint cannot catch. One scan per import.
        """
        keyed = Response.objects.filter(workspace_id=self.workspace.pk).order_by()
        same_source = Q(idempotency_key__startswith=f"import:{source}:")
        erased = Q(idempotency_key__startswith="erased:")
        return keyed.filter(same_source | erased).exists()

    def write(self, rows: Sequence[ValidRow]) -> BatchResult:
        if self.dry_run:
            return self._plan(rows)
        for attempt in range(2):
            try:
                with transaction.atomic(durable=True):
                    result, people = self._write(rows)
            except IntegrityError:
                # A repeated row on the fast path, or a live answer / another import
                # took a key or an email meanwhile: redo the batch, looking everything up.
                if attempt:
                    raise
                self.careful = True
                self.people.clear()
                continue
            self.people.update(people)
            return result
        raise AssertionError("unreachable")

    # --- the real thing --------------------------------------------------------------

    def _write(self, rows: Sequence[ValidRow]) -> tuple[BatchResult, dict[Identity, Person]]:
        result = BatchResult()
        fresh = self._fresh_rows(rows, result)
        batch = self._people_for(fresh)
        self._insert_people(batch)
        if batch.changed:
            fields = ["name", "phone", "language", "properties", "updated_at"]
            Contact.objects.bulk_update(batch.changed, fields)
        result.contacts_created = len(batch.new)
        result.contacts_updated = len(batch.changed)
        if self.survey is not None and fresh:
            people = {**self.people, **batch.found}
            before = _last_response_id()
            insert_tuples(Response, RESPONSE_FIELDS, [self._response(r, people) for r in fresh])
            result.created = len(fresh)
            if any(row.comment for row in fresh):
                # The new rows' ids lie in (before, after]; other answers that land in
                # the range meanwhile are skipped by the job (channel, comment filters).
                span = (before, _last_response_id())
                transaction.on_commit(partial(_enqueue_languages, *span), robust=True)
        return result, batch.found

    def _fresh_rows(self, rows: Sequence[ValidRow], result: BatchResult) -> list[ValidRow]:
        """Rows not imported before (by key), the first of any repeated in the batch."""
        if self.survey is None:
            return list(rows)
        by_key: dict[str, ValidRow] = {}
        for row in rows:
            by_key.setdefault(row.key, row)
        if self.careful:
            self._drop_stored(by_key)
        result.duplicates = len(rows) - len(by_key)
        return list(by_key.values())

    def _drop_stored(self, by_key: dict[str, ValidRow]) -> None:
        # An erased contact's answers keep their keys only as keyed hashes: look
        # for both forms, or re-importing an old file would bring the person back.
        secret = self.workspace.secret
        erased = {erased_key(secret, key): key for key in by_key}
        stored = Response.objects.filter(workspace_id=self.workspace.pk)
        for found in _in_chunks(stored, "idempotency_key", [*by_key, *erased]):
            by_key.pop(erased.get(found, found), None)

    def _people_for(self, rows: Sequence[ValidRow]) -> _Batch:
        """The upsert_contact rules in bulk: by external id, else by email; fill in blanks."""
        batch = _Batch()
        unknown = [r for r in rows if r.identity is not None and r.identity not in self.people]
        stored = self._stored_contacts(unknown)
        for row in unknown:
            identity = row.identity
            assert identity is not None
            if identity in batch.found:
                continue
            contact = _match(stored, row)
            if contact is None:
                person = Person(0, row.language, _free_email(row, stored, batch), row.external_id)
                batch.new.append((person, row))
            else:
                person = Person(contact.pk, contact.language)
                if _fill_blanks(contact, row):
                    batch.changed.append(contact)
            batch.found[identity] = person
            if person.email and row.external_id:
                batch.found.setdefault(("email", person.email), person)
        return batch

    def _stored_contacts(self, rows: Sequence[ValidRow]) -> dict[Identity, Contact]:
        emails = sorted({row.email for row in rows if row.email})
        external_ids = sorted({row.external_id for row in rows if row.external_id})
        stored = Contact.objects.filter(workspace_id=self.workspace.pk)
        found: dict[Identity, Contact] = {}
        for contact in _objects(stored, "external_id", external_ids):
            found[("external_id", str(contact.external_id))] = contact
        # LOWER(email) and NOT NULL: the terms of the unique index contact_unique_email,
        # so each email is an index probe (emails are stored lower-cased anyway).
        by_lower = stored.annotate(email_lower=Lower("email")).filter(email__isnull=False)
        for contact in _objects(by_lower, "email_lower", emails):
            found[("email", str(contact.email))] = contact
        return found

    def _insert_people(self, batch: _Batch) -> None:
        """Insert the batch's new contacts, then read their ids back (executemany returns none)."""
        if not batch.new:
            return
        rows = [
            (
                self.workspace.pk,
                p.email,
                p.external_id,
                r.name,
                r.phone,
                r.language,
                r.properties,
                r.created_at,
            )
            for p, r in batch.new
        ]
        insert_tuples(Contact, CONTACT_FIELDS, rows)
        stored = Contact.objects.filter(workspace_id=self.workspace.pk).order_by()
        by_lower = stored.annotate(email_lower=Lower("email")).filter(email__isnull=False)
        with_id = {p.external_id: p for p, _r in batch.new if p.external_id}
        by_email = {p.email: p for p, _r in batch.new if p.email and not p.external_id}
        for queryset, lookup, wanted in (
            (stored, "external_id", with_id),
            (by_lower, "email_lower", by_email),
        ):
            for pk, key in _pairs(queryset, lookup, list(wanted)):
                wanted[key].pk = pk

    def _response(self, row: ValidRow, people: dict[Identity, Person]) -> tuple[Any, ...]:
        survey = self.survey
        assert survey is not None
        person = people.get(row.identity) if row.identity is not None else None
        language = row.language or (person.language if person else "") or survey.default_language
        return (
            self.workspace.pk,
            survey.pk,
            person.pk if person is not None else None,
            row.score,
            survey.scale_min,
            survey.scale_max,
            row.comment,
            language,
            Channel.IMPORT.value,
            row.properties,
            row.source_ref[:200],
            row.key,
            row.created_at,
        )
        # edit_token stays NULL (imported answers are not editable); comment_language
        # is filled by detect_import_languages; updated_at is now.

    # --- dry run -----------------------------------------------------------------------

    def _plan(self, rows: Sequence[ValidRow]) -> BatchResult:
        result = BatchResult()
        fresh = [r for r in self._fresh_rows(rows, result) if hash(r.key) not in self._seen_keys]
        result.duplicates = len(rows) - len(fresh)
        self._seen_keys.update(hash(row.key) for row in fresh)
        batch = self._people_for(fresh)
        result.contacts_created = len(batch.new)
        result.contacts_updated = len(batch.changed)
        self.people.update(batch.found)  # nothing is written: remember what would be
        result.created = len(fresh) if self.survey is not None else 0
        return result


def _match(stored: dict[Identity, Contact], row: ValidRow) -> Contact | None:
    if row.external_id and ("external_id", row.external_id) in stored:
        return stored[("external_id", row.external_id)]
    if row.email:
        candidate = stored.get(("email", row.email))
        if candidate is not None and (row.external_id is None or not candidate.external_id):
            return candidate
    return None


def _free_email(row: ValidRow, stored: dict[Identity, Contact], batch: _Batch) -> str | None:
    """The row's email for a new contact, unless another contact holds it (as upsert_contact)."""
    if not row.email:
        return None
    taken = ("email", row.email) in stored or ("email", row.email) in batch.found
    return None if taken else row.email


def _fill_blanks(contact: Contact, row: ValidRow) -> bool:
    """History fills in what a contact lacks; it never overwrites what is stored now."""
    changed = False
    for name in ("name", "phone", "language"):
        value = getattr(row, name)
        if value and not getattr(contact, name):
            setattr(contact, name, value)
            changed = True
    missing = {k: v for k, v in row.properties.items() if k not in contact.properties}
    if missing and len(contact.properties) + len(missing) <= MAX_PROPERTIES:
        contact.properties = {**contact.properties, **missing}
        changed = True
    if changed:
        contact.updated_at = timezone.now()  # bulk_update skips auto_now
    return changed


# Lookups are unordered on purpose: the models' default ordering (-created_at)
# makes SQLite walk the (workspace, created_at) index over the whole workspace
# instead of probing the unique index, which turns each batch into a full scan.


def _in_chunks(queryset: Any, field_name: str, values: Sequence[str]) -> Iterator[Any]:
    for start in range(0, len(values), LOOKUP_CHUNK):
        chunk = values[start : start + LOOKUP_CHUNK]
        found = queryset.filter(**{f"{field_name}__in": chunk}).order_by()
        yield from found.values_list(field_name, flat=True)


def _objects(queryset: Any, lookup: str, values: Sequence[str]) -> Iterable[Contact]:
    for start in range(0, len(values), LOOKUP_CHUNK):
        chunk = values[start : start + LOOKUP_CHUNK]
        yield from queryset.filter(**{f"{lookup}__in": chunk}).order_by()


def _pairs(queryset: Any, lookup: str, values: Sequence[str]) -> Iterable[tuple[int, str]]:
    for start in range(0, len(values), LOOKUP_CHUNK):
        chunk = values[start : start + LOOKUP_CHUNK]
        yield from queryset.filter(**{f"{lookup}__in": chunk}).values_list("pk", lookup)


def _last_response_id() -> int:
    return Response.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _enqueue_languages(after_id: int, upto_id: int) -> None:
    from kaiku.transfer.tasks import detect_import_languages

    detect_import_languages.enqueue(after_id, upto_id)


__all__ = ["BatchResult", "BatchWriter", "insert_rows"]
