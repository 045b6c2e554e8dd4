"""GDPR: erase a contact, export what Kaiku holds about one, and the retention policy.

The rules (docs/gdpr.md has the long version):

- Erase removes the person and keeps their answers' scores, so NPS, CSAT and
  CES stay exactly what they were. The contact row and its invitations are
  deleted; each of their responses is detached (contact and invitation NULL),
  loses its comment, source reference and every identifying property (see
  kaiku.transfer.privacy), and its idempotency key becomes a keyed hash.
- Other apps hold contact data too (cases, notes …): they register an eraser
  and an exporter with `register_contact_data`, and both actions call them.
- Every erase and export writes an AuditLog entry naming the actor; the entry
  holds ids and counts, never the erased data.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from kaiku.accounts.models import Workspace
from kaiku.contacts.models import Contact
from kaiku.responses.models import Response
from kaiku.transfer.audit import Actor, audit
from kaiku.transfer.models import AuditAction, WorkspaceDataPolicy
from kaiku.transfer.privacy import erased_key, strip_identifying

# Bulk updates in slices: a contact with thousands of kiosk-style answers
# must not build one giant UPDATE … CASE statement.
UPDATE_BATCH = 500


@dataclass(frozen=True)
class ContactData:
    """Another app's data about a contact: how to export it and how to erase it."""

    name: str
    export: Callable[[Contact], list[dict[str, Any]]]
    # Erase (or anonymise) the rows; return how many were touched.
    erase: Callable[[Contact], int]


CONTACT_DATA: dict[str, ContactData] = {}


def register_contact_data(
    name: str,
    *,
    export: Callable[[Contact], list[dict[str, Any]]],
    erase: Callable[[Contact], int],
) -> None:
    """Let an app's own rows about a contact follow erase and export (call from AppConfig.ready)."""
    CONTACT_DATA[name] = ContactData(name, export, erase)


@dataclass
class Erasure:
    contact_id: int
    responses: int = 0
    invitations: int = 0
    other: dict[str, int] = field(default_factory=dict)

    def as_details(self) -> dict[str, Any]:
        return {"responses": self.responses, "invitations": self.invitations, **self.other}


def erase_contact(contact: Contact, *, actor: Actor, audit_entry: bool = True) -> Erasure:
    """Erase a contact's personal data; keep their scores anonymised.

    Safe to call twice (the second call finds nothing and changes nothing).
    Nests inside a caller's transaction (not durable) so that the retention
    job can erase many contacts in one batch.
    """
    result = Erasure(contact_id=contact.pk)
    with transaction.atomic():
        locked = Contact.objects.select_for_update().filter(pk=contact.pk).first()
        if locked is None:
            return result
        workspace = locked.workspace
        result.responses = anonymise_responses(
            contact_responses(locked), workspace.secret, identifiers_of(locked)
        )
        for data in CONTACT_DATA.values():
            result.other[data.name] = data.erase(locked)
        result.invitations = locked.invitations.count()
        locked.delete()  # cascades to invitations and their delivery attempts
        if audit_entry:
            audit(
                workspace,
                actor,
                AuditAction.CONTACT_ERASED,
                object_type="contact",
                object_id=contact.pk,
                details=result.as_details(),
            )
    return result


def identifiers_of(contact: Contact) -> list[str]:
    values = [contact.email, contact.phone, contact.name, contact.external_id]
    return [value for value in values if value]


def contact_responses(contact: Contact) -> QuerySet[Response]:
    # Through the invitation too: an answer must not keep a path back to the person.
    return Response.objects.filter(
        Q(contact_id=contact.pk) | Q(invitation__contact_id=contact.pk),
        workspace_id=contact.workspace_id,
    )


def anonymise_responses(
    responses: QuerySet[Response], secret: str, identifiers: Iterable[str] = ()
) -> int:
    """Detach the responses from people; keep score, scale, survey, channel, language and time.

    Property values are also checked against each answer's own contact's
    identifiers (read before the contact is detached) and `identifiers`.
    """
    extra = list(identifiers)
    ids = list(responses.order_by().values_list("pk", flat=True))
    for start in range(0, len(ids), UPDATE_BATCH):
        batch_ids = ids[start : start + UPDATE_BATCH]
        rows = Response.objects.filter(pk__in=batch_ids).values(
            "pk", "properties", "idempotency_key", *IDENTIFIER_VALUES
        )
        changed = [_anonymised(row, secret, extra) for row in rows]
        Response.objects.bulk_update(changed, ["properties", "idempotency_key"])
        Response.objects.filter(pk__in=batch_ids).update(
            contact=None,
            invitation=None,
            comment="",
            comment_language="",
            source_ref="",
            # API clients syncing with `updated_since` must see the change.
            updated_at=timezone.now(),
        )
    return len(ids)


IDENTIFIER_VALUES = ("contact__email", "contact__name", "contact__phone", "contact__external_id")


def _anonymised(row: dict[str, Any], secret: str, extra: list[str]) -> Response:
    identifiers = [*extra, *(row[name] for name in IDENTIFIER_VALUES if row[name])]
    key = row["idempotency_key"]
    return Response(
        pk=row["pk"],
        properties=strip_identifying(row["properties"], identifiers),
        idempotency_key=erased_key(secret, key) if key else None,
    )


# --- Export everything about a contact ----------------------------------------------------

CONTACT_EXPORT_FIELDS = (
    "id",
    "email",
    "external_id",
    "name",
    "phone",
    "language",
    "properties",
    "unsubscribed_at",
    "bounced_at",
    "created_at",
    "updated_at",
)
RESPONSE_EXPORT_FIELDS = (
    "id",
    "survey_id",
    "survey__name",
    "score",
    "comment",
    "language",
    "channel",
    "properties",
    "source_ref",
    "created_at",
    "updated_at",
)
INVITATION_EXPORT_FIELDS = (
    "id",
    "survey_id",
    "survey__name",
    "status",
    "status_reason",
    "language",
    "properties",
    "send_at",
    "sent_at",
    "opened_at",
    "responded_at",
    "reminded_at",
    "created_at",
)


def export_contact(contact: Contact, *, actor: Actor) -> dict[str, Any]:
    """Everything Kaiku holds about the person (GDPR art. 15 and 20), as JSON-ready data."""
    from kaiku.transfer.exporters import json_value

    def plain(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {k.replace("survey__name", "survey"): json_value(v) for k, v in r.items()} for r in rows
        ]

    contact_row = Contact.objects.filter(pk=contact.pk).values(*CONTACT_EXPORT_FIELDS).get()
    data: dict[str, Any] = {
        "exported_at": json_value(timezone.now()),
        "workspace": contact.workspace.name,
        "contact": plain([contact_row])[0],
        "responses": plain(
            contact_responses(contact).order_by("created_at").values(*RESPONSE_EXPORT_FIELDS)
        ),
        "invitations": plain(
            contact.invitations.order_by("created_at").values(*INVITATION_EXPORT_FIELDS)
        ),
    }
    for extra in CONTACT_DATA.values():
        data[extra.name] = extra.export(contact)
    audit(
        contact.workspace,
        actor,
        AuditAction.CONTACT_EXPORTED,
        object_type="contact",
        object_id=contact.pk,
        details={"responses": len(data["responses"]), "invitations": len(data["invitations"])},
    )
    return data


# --- Retention ----------------------------------------------------------------------------

# Batches of the retention job: each is one transaction, so a long first run
# on a big workspace does not hold one huge transaction.
RETENTION_BATCH = 200


@dataclass
class Retention:
    cutoff: datetime
    responses: int = 0
    contacts: int = 0


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (clamped to the month's end)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def apply_retention(
    workspace: Workspace, *, now: datetime | None = None, actor: Actor = "system"
) -> Retention | None:
    """Anonymise what is older than the workspace's retention period; None without a policy.

    - Answers older than the cutoff lose their personal data like an erased
      contact's answers do (scores, segments and dates stay).
    - Contacts with nothing newer than the cutoff (created, changed, invited
      or answered) are erased.
    Safe to run any number of times: the second run finds nothing to do.
    """
    policy = WorkspaceDataPolicy.objects.filter(workspace=workspace).first()
    if policy is None or not policy.retention_months:
        return None
    now = now or timezone.now()
    result = Retention(cutoff=months_before(now, policy.retention_months))
    result.responses = _retire_responses(workspace, result.cutoff, policy.retention_applied_at)
    result.contacts = _retire_contacts(workspace, result.cutoff, actor)
    WorkspaceDataPolicy.objects.filter(pk=policy.pk).update(
        retention_applied_at=max(result.cutoff, policy.retention_applied_at or result.cutoff)
    )
    if result.responses or result.contacts:
        audit(
            workspace,
            actor,
            AuditAction.RETENTION_APPLIED,
            object_type="workspace",
            object_id=workspace.pk,
            details={
                "cutoff": result.cutoff.isoformat(),
                "responses": result.responses,
                "contacts": result.contacts,
            },
        )
    return result


def _retire_responses(workspace: Workspace, cutoff: datetime, done_until: datetime | None) -> int:
    old = Response.objects.filter(workspace=workspace, created_at__lt=cutoff)
    personal = (
        Q(contact__isnull=False)
        | Q(invitation__isnull=False)
        | ~Q(comment="")
        | ~Q(source_ref="")
        | (Q(idempotency_key__isnull=False) & ~Q(idempotency_key__startswith="erased:"))
    )
    if done_until is not None:
        # Answers older than the previous cutoff were fully anonymised then; only
        # ones that gained personal data since (a late import) need a look.
        # Newer ones get the full treatment, properties included.
        personal |= Q(created_at__gte=done_until)
    else:
        personal = Q()
    return anonymise_responses(old.filter(personal), workspace.secret)


def _retire_contacts(workspace: Workspace, cutoff: datetime, actor: Actor) -> int:
    stale = (
        Contact.objects.filter(workspace=workspace, created_at__lt=cutoff, updated_at__lt=cutoff)
        .exclude(responses__created_at__gte=cutoff)
        .exclude(invitations__created_at__gte=cutoff)
        .order_by("pk")
    )
    erased = 0
    while batch := list(stale[:RETENTION_BATCH]):
        with transaction.atomic():
            for contact in batch:
                erase_contact(contact, actor=actor, audit_entry=False)
        erased += len(batch)
    return erased


def apply_retention_everywhere(now: datetime | None = None) -> list[tuple[str, Retention]]:
    """The daily job: every workspace that has a retention period."""
    done = []
    policies = WorkspaceDataPolicy.objects.filter(retention_months__isnull=False)
    for policy in policies.select_related("workspace").order_by("pk"):
        result = apply_retention(policy.workspace, now=now)
        if result is not None:
            done.append((policy.workspace.slug, result))
    return done
