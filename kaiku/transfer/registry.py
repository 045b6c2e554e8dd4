"""What moves with a workspace, and what a contact's erase and export also cover.

Workspace tables are found, not listed: every model whose rows lead to a
workspace through required foreign keys (`workspace`, `survey__workspace`,
`case__workspace` …) moves, unless NOT_MOVED names it (secrets, logs, derived
data, rows tied to memberships). A new app's models therefore move without
any change here; an app can still register a table itself to set its path or
leave fields out (`workspace_export.register_table`).

Contact data: answers and invitations are handled by kaiku.transfer.gdpr
itself; the apps installed today that hold more about a person (cases, inbound
events) are covered below, each only when its app is installed.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import models

from kaiku.accounts.models import Workspace
from kaiku.contacts.models import Contact
from kaiku.transfer.gdpr import contact_responses, register_contact_data
from kaiku.transfer.workspace_export import TABLES, exclude_table, register_table

MAX_DEPTH = 3
# Fields left out of the file: the audit log's API key does not move (its label does).
EXCLUDED_FIELDS = {"transfer.auditlog": ("api_key_id",)}
NOT_MOVED = (
    "api.apikey",  # only hashes are stored: create new keys on the new server
    "accounts.membership",  # moved as (email, role) pairs in the file's header
    "accounts.teaminvitation",  # pending invitations: invite again
    "transfer.importrun",  # uploaded files stay on the old server
    "insights.dashboardshare",  # shared links hold hashed tokens: share again
    "insights.reportsubscription",  # per member: subscribe again
    "loop.alertpreference",  # per member
    "loop.alertdelivery",  # delivery log
    "webhooks.webhookendpoint",  # its signing secret is encrypted with this server's key
    "webhooks.webhookevent",  # event and delivery logs
    "webhooks.webhookdelivery",
    "webhooks.webhookattempt",
    "webhooks.inboundevent",
)


def register_core_tables() -> None:
    for label in NOT_MOVED:
        exclude_table(label)
    for model in apps.get_models():
        label = model._meta.label_lower
        if label in NOT_MOVED or label in TABLES or model is Workspace:
            continue
        path = workspace_path(model)
        if path is not None:
            register_table(model, path=path, exclude=EXCLUDED_FIELDS.get(label, ()))


def workspace_path(model: type[models.Model], depth: int = 0) -> str | None:
    """The lookup from the model's rows to their workspace over required foreign keys."""
    if depth > MAX_DEPTH:
        return None
    fks = [
        f
        for f in model._meta.concrete_fields
        if isinstance(f, models.ForeignKey) and not f.null and f.related_model is not model
    ]
    for f in fks:
        if f.related_model is Workspace:
            return f.name
    for f in fks:
        target = f.related_model
        if isinstance(target, str) or target is None or target._meta.app_label == "auth":
            continue
        rest = workspace_path(target, depth + 1)
        if rest is not None:
            return f"{f.name}__{rest}"
    return None


# --- Contact data in other apps ---------------------------------------------------------


def _values(queryset: Any, *names: str) -> list[dict[str, Any]]:
    from kaiku.transfer.exporters import json_value

    return [{k: json_value(v) for k, v in row.items()} for row in queryset.values(*names)]


def _contact_cases(contact: Contact) -> Any:
    case = apps.get_model("loop", "Case")
    answers = contact_responses(contact).values("pk")
    return case.objects.filter(workspace_id=contact.workspace_id).filter(
        models.Q(contact_id=contact.pk) | models.Q(response_id__in=answers)
    )


def export_cases(contact: Contact) -> list[dict[str, Any]]:
    cases = _values(
        _contact_cases(contact).order_by("created_at"),
        "id", "survey_id", "reason", "reason_detail", "score", "status", "created_at",
        "resolved_at", "closed_at",
    )  # fmt: skip
    note, reply = apps.get_model("loop", "CaseNote"), apps.get_model("loop", "CaseReply")
    for case in cases:
        case["notes"] = _values(note.objects.filter(case_id=case["id"]), "body", "created_at")
        case["replies"] = _values(
            reply.objects.filter(case_id=case["id"]), "to_email", "subject", "body", "sent_at"
        )
    return cases


def erase_cases(contact: Contact) -> int:
    """Cases stay (their SLA and recovery figures are statistics); what they say about the
    person goes: notes, email replies and the reason's detail (it quotes the answer)."""
    cases = list(_contact_cases(contact).values_list("pk", flat=True))
    apps.get_model("loop", "CaseNote").objects.filter(case_id__in=cases).delete()
    apps.get_model("loop", "CaseReply").objects.filter(case_id__in=cases).delete()
    apps.get_model("loop", "Case").objects.filter(pk__in=cases).update(
        contact=None, reason_detail=""
    )
    return len(cases)


def _inbound(contact: Contact) -> Any:
    event = apps.get_model("webhooks", "InboundEvent")
    return event.objects.filter(workspace_id=contact.workspace_id, contact_id=contact.pk)


def export_inbound_events(contact: Contact) -> list[dict[str, Any]]:
    return _values(_inbound(contact).order_by("created_at"), "type", "properties", "created_at")


def erase_inbound_events(contact: Contact) -> int:
    deleted, _by_model = _inbound(contact).delete()
    return deleted


def register_contact_hooks() -> None:
    if apps.is_installed("kaiku.loop"):
        register_contact_data("cases", export=export_cases, erase=erase_cases)
    if apps.is_installed("kaiku.webhooks"):
        register_contact_data(
            "inbound_events", export=export_inbound_events, erase=erase_inbound_events
        )
