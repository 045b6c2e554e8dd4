"""Move a whole workspace between Kaiku servers: `kaiku export-workspace` / `import-workspace`.

Table-driven. Each workspace table is registered once with the lookup that
leads from its rows to the workspace (`register_table(Survey)`,
`register_table(SurveyText, path="survey__workspace")`); apps that add models
later (cases, themes, webhooks …) register theirs from AppConfig.ready() and
are exported and imported with no change here. Registration order is import
order: a table comes after the tables its foreign keys point to.

How values travel:
- foreign keys to registered tables carry the old id and are remapped to the
  new rows; to the workspace, they are implied; to users, they carry the
  user's email (matched on the new server, else left empty);
- unique values with a generated default (survey public ids, invitation
  tokens, kiosk keys) are kept, so links already sent keep working, unless the
  value is taken on this server (a copy next to the original), then regenerated;
- the workspace secret is kept, so widget identity signatures keep verifying.
Not moved: API keys (secrets; create new ones), pending teammate invitations,
import runs. Members are matched by email to users who exist on the new server.

The file is JSON laid out one row per line, so the importer streams it
(constant memory for millions of answers); `json.load` reads it too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import IO, Any
from uuid import UUID

from django.conf import settings
from django.db import models

from kaiku.accounts.models import Membership, User, Workspace

FORMAT = "kaiku-workspace"
VERSION = 1
CHUNK = 2000


@dataclass(frozen=True)
class Table:
    key: str  # app_label.model_name
    model: type[models.Model]
    path: str  # lookup from a row to its workspace
    exclude: frozenset[str] = frozenset()  # attnames left out of the file


TABLES: dict[str, Table] = {}
# Workspace models deliberately left out (see the module docstring).
NOT_MOVED: set[str] = set()


def register_table(
    model: type[models.Model], *, path: str = "workspace", exclude: Iterable[str] = ()
) -> None:
    key = model._meta.label_lower
    TABLES[key] = Table(key, model, path, frozenset(exclude))


def exclude_table(label: str) -> None:
    NOT_MOVED.add(label.lower())


def unregistered_models() -> list[str]:
    """Models with a workspace foreign key that neither moves nor is excluded: a warning."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        label = model._meta.label_lower
        if label in TABLES or label in NOT_MOVED:
            continue
        if any(
            isinstance(f, models.ForeignKey) and f.related_model is Workspace
            for f in model._meta.concrete_fields
        ):
            found.append(label)
    return sorted(found)


# --- Writing -------------------------------------------------------------------------------


def encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal | UUID):
        return str(value)
    raise TypeError(f"cannot export {type(value).__name__}")


def _dumps(value: Any) -> str:
    return json.dumps(value, default=encode, ensure_ascii=False, separators=(",", ":"))


def export_workspace(workspace: Workspace) -> Iterator[str]:
    """The workspace as text chunks (write them in order to a file)."""
    header = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": datetime.now().astimezone().isoformat(),
        "workspace": _workspace_fields(workspace),
        "members": [
            {"email": m.user.email, "role": m.role}
            for m in Membership.objects.filter(workspace=workspace).select_related("user")
        ],
    }
    yield _dumps(header)[:-1] + ',"tables":[\n'
    for index, table in enumerate(registered_tables()):
        yield ("" if index == 0 else ",\n") + _dumps({"table": table.key})[:-1] + ',"rows":['
        separator = "\n"
        for row in _rows(table, workspace):
            yield separator + _dumps(row)
            separator = ",\n"
        yield "\n]}"
    yield "\n]}\n"


def _workspace_fields(workspace: Workspace) -> dict[str, Any]:
    return {
        f.attname: f.value_from_object(workspace)
        for f in Workspace._meta.concrete_fields
        if not f.primary_key
    }


def _rows(table: Table, workspace: Workspace) -> Iterator[dict[str, Any]]:
    fields = [f for f in table.model._meta.concrete_fields if f.attname not in table.exclude]
    users = _user_fields(fields)
    names = [f.attname for f in fields if not _is_workspace_fk(f)]
    queryset = table.model._default_manager.filter(**{table.path: workspace}).order_by("pk")
    emails = _user_emails(queryset, users)
    for row in queryset.values(*names).iterator(chunk_size=CHUNK):
        for attname in users:
            row[attname] = emails.get(row[attname])
        yield row


def _is_workspace_fk(f: models.Field[Any, Any]) -> bool:
    return isinstance(f, models.ForeignKey) and f.related_model is Workspace


def _user_fields(fields: list[models.Field[Any, Any]]) -> list[str]:
    return [
        f.attname for f in fields if isinstance(f, models.ForeignKey) and f.related_model is User
    ]


def _user_emails(queryset: models.QuerySet[Any], attnames: list[str]) -> dict[int, str]:
    ids: set[int] = set()
    for attname in attnames:
        ids.update(i for i in queryset.values_list(attname, flat=True).distinct() if i)
    return dict(User.objects.filter(pk__in=ids).values_list("pk", "email"))


# --- Reading -------------------------------------------------------------------------------


@dataclass
class ParsedFile:
    header: dict[str, Any]
    tables: Iterator[tuple[str, Iterator[dict[str, Any]]]] = field(default_factory=lambda: iter(()))


def read_export(stream: IO[str]) -> ParsedFile:
    """Header and (table, rows) pairs; streamed when the file has export_workspace's layout."""
    first = stream.readline()
    if first.startswith('{"format":') and first.rstrip().endswith('"tables":['):
        header = json.loads(first.rstrip() + "]}")
        return ParsedFile(_check_header(header), _stream_tables(stream))
    document = json.loads(first + stream.read())
    if not isinstance(document, dict):
        raise ValueError("not a Kaiku workspace export")
    tables = ((t["table"], iter(t.get("rows", []))) for t in document.get("tables", []))
    return ParsedFile(_check_header(document), tables)


def _check_header(header: dict[str, Any]) -> dict[str, Any]:
    if header.get("format") != FORMAT:
        raise ValueError("not a Kaiku workspace export (format is missing)")
    if header.get("version") != VERSION:
        raise ValueError(f"export version {header.get('version')} is not supported")
    return header


def _stream_tables(stream: IO[str]) -> Iterator[tuple[str, Iterator[dict[str, Any]]]]:
    for line in stream:
        text = line.strip().lstrip(",")
        if not text or text in ("]}",):
            continue
        if text.startswith('{"table":') and text.endswith('"rows":['):
            yield json.loads(text + "]}")["table"], _stream_rows(stream)


def _stream_rows(stream: IO[str]) -> Iterator[dict[str, Any]]:
    for line in stream:
        text = line.strip()
        if text.startswith("]}"):
            return
        if text:
            yield json.loads(text.rstrip(","))


def registered_tables() -> list[Table]:
    """Registered tables, each after the tables its foreign keys point to (then by name)."""
    remaining = dict(sorted(TABLES.items()))
    ordered: list[Table] = []
    while remaining:
        ready = [
            key
            for key, table in remaining.items()
            if not (_dependencies(table) & remaining.keys() - {key})
        ]
        if not ready:
            raise ValueError(f"foreign keys form a cycle among {sorted(remaining)}")
        for key in ready:
            ordered.append(remaining.pop(key))
    return ordered


def _dependencies(table: Table) -> set[str]:
    return {
        f.related_model._meta.label_lower
        for f in table.model._meta.concrete_fields
        if isinstance(f, models.ForeignKey)
        and f.related_model is not None
        and not isinstance(f.related_model, str)
    }


def user_model_label() -> str:
    return str(settings.AUTH_USER_MODEL).lower()
