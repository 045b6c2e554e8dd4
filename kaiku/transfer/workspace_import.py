"""Restore a workspace export into this server as a new workspace (see workspace_export).

All or nothing: the whole restore is one transaction, so a bad file or a
crash leaves no half workspace behind. Rows get new ids; foreign keys between
moved tables are remapped through an old→new id map, kept only for tables
that later tables point to.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import models, transaction

from kaiku.accounts.models import Membership, Role, User, Workspace
from kaiku.transfer.workspace_export import (
    CHUNK,
    NOT_MOVED,
    TABLES,
    Table,
    read_export,
)


class RestoreError(ValueError):
    pass


@dataclass
class Restored:
    workspace: Workspace
    counts: dict[str, int] = field(default_factory=dict)
    skipped_tables: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    members_missing: list[str] = field(default_factory=list)


def import_workspace(
    stream: IO[str], *, slug: str | None = None, name: str | None = None, owner: User | None = None
) -> Restored:
    parsed = read_export(stream)
    fields = dict(parsed.header["workspace"])
    fields["slug"] = slug or fields.get("slug")
    if name:
        fields["name"] = name
    if Workspace.objects.filter(slug=fields["slug"]).exists():
        raise RestoreError(f"a workspace with the slug {fields['slug']!r} exists; choose --slug")
    with transaction.atomic(durable=True):
        workspace = Workspace.objects.create(**_known(Workspace, fields))
        restored = Restored(workspace)
        _members(restored, parsed.header.get("members", []), owner)
        restorer = _Restorer(workspace)
        for key, rows in parsed.tables:
            table = TABLES.get(key)
            if table is None:
                restored.skipped_tables.append(key)
                for _row in rows:  # consume, to reach the next table
                    pass
                continue
            restored.counts[key] = restorer.restore(table, rows)
        restorer.link_self_references()
    return restored


def _known(model: type[models.Model], values: dict[str, Any]) -> dict[str, Any]:
    """Only the model's own fields, converted from their JSON form."""
    out = {}
    for f in model._meta.concrete_fields:
        if f.primary_key or f.attname not in values:
            continue
        out[f.attname] = _to_python(f, values[f.attname])
    return out


def _to_python(f: models.Field[Any, Any], value: Any) -> Any:
    if value is None or isinstance(f, models.JSONField):
        return value
    return f.to_python(value)


def _members(restored: Restored, members: list[dict[str, Any]], owner: User | None) -> None:
    emails = {m["email"].lower(): m["role"] for m in members if m.get("email")}
    users = {u.email: u for u in User.objects.filter(email__in=list(emails))}
    for email, role in emails.items():
        user = users.get(email)
        if user is None:
            restored.members_missing.append(email)
            continue
        Membership.objects.create(workspace=restored.workspace, user=user, role=role)
        restored.members.append(email)
    if owner is not None and owner.email not in users:
        Membership.objects.create(workspace=restored.workspace, user=owner, role=Role.OWNER)
        restored.members.append(owner.email)


def workspace_path(model: type[models.Model]) -> str | None:
    from kaiku.transfer.registry import workspace_path as path

    return path(model)


class _Restorer:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.maps: dict[str, dict[int, int]] = {}
        referenced = set()
        for table in TABLES.values():
            for f in table.model._meta.concrete_fields:
                target = f.related_model
                if isinstance(f, models.ForeignKey) and target is not None:
                    assert not isinstance(target, str)
                    referenced.add(target._meta.label_lower)
        self.referenced = referenced
        self.user_ids: dict[str, int] = {}
        self.self_refs: list[tuple[type[models.Model], Any, str, Any]] = []

    def restore(self, table: Table, rows: Iterator[dict[str, Any]]) -> int:
        fields = [f for f in table.model._meta.concrete_fields if f.attname not in table.exclude]
        count = 0
        batch: list[tuple[int | None, models.Model]] = []
        for row in rows:
            obj = self._build(table, fields, row)
            if obj is not None:
                batch.append((row.get("id"), obj))
            if len(batch) >= CHUNK:
                count += self._flush(table, batch)
                batch = []
        if batch:
            count += self._flush(table, batch)
        return count

    def _build(
        self, table: Table, fields: list[models.Field[Any, Any]], row: dict[str, Any]
    ) -> models.Model | None:
        values: dict[str, Any] = {}
        for f in fields:
            if f.primary_key:
                continue
            if isinstance(f, models.ForeignKey) and f.related_model is Workspace:
                values[f.attname] = self.workspace.pk
                continue
            if f.attname not in row:
                continue
            value = row[f.attname]
            if isinstance(f, models.ForeignKey) and value is not None:
                if f.related_model is table.model:
                    # Set once the whole table is in (the target may come later).
                    self.self_refs.append((table.model, row.get("id"), f.attname, value))
                    value = None
                else:
                    value = self._remap(f, value)
                if value is None and not f.null:
                    return None  # points at a row that did not move
            values[f.attname] = (
                _to_python(f, value) if not isinstance(f, models.ForeignKey) else value
            )
        return table.model(**values)

    def link_self_references(self) -> None:
        for model, old_id, attname, old_target in self.self_refs:
            mapping = self.maps.get(model._meta.label_lower, {})
            new_id, new_target = mapping.get(int(old_id or 0)), mapping.get(int(old_target))
            if new_id is not None and new_target is not None:
                model._default_manager.filter(pk=new_id).update(**{attname: new_target})

    def _remap(self, f: models.ForeignKey[Any, Any], value: Any) -> Any:
        target = f.related_model
        assert target is not None
        assert not isinstance(target, str)
        if target is User:
            return self._user_id(str(value))
        label = target._meta.label_lower
        if label in TABLES:
            return self.maps.get(label, {}).get(int(value))
        if label in NOT_MOVED or workspace_path(target) is not None:
            return None  # another workspace's kind of row that does not move (a membership …)
        return value  # a server-wide row (none today): the same id on both servers

    def _user_id(self, email: str) -> int | None:
        if email not in self.user_ids:
            self.user_ids[email] = (
                User.objects.filter(email=email.lower()).values_list("pk", flat=True).first() or 0
            )
        return self.user_ids[email] or None

    def _flush(self, table: Table, batch: list[tuple[int | None, models.Model]]) -> int:
        objects = [obj for _old, obj in batch]
        _avoid_collisions(table.model, objects)
        table.model._default_manager.bulk_create(objects)
        if table.key in self.referenced:
            mapping = self.maps.setdefault(table.key, {})
            for old, obj in batch:
                if old is not None and obj.pk is not None:
                    mapping[int(old)] = int(obj.pk)
        return len(objects)


def _avoid_collisions(model: type[models.Model], objects: list[models.Model]) -> None:
    """Keep unique generated values (tokens, public ids) unless this server already has them."""
    for f in model._meta.concrete_fields:
        if not f.unique or f.primary_key or isinstance(f, models.ForeignKey):
            continue
        values = [getattr(o, f.attname) for o in objects if getattr(o, f.attname) is not None]
        if not values:
            continue
        taken = set(
            model._default_manager.filter(**{f"{f.attname}__in": values}).values_list(
                f.attname, flat=True
            )
        )
        for obj in objects:
            if getattr(obj, f.attname) in taken:
                new = f.get_default() if f.has_default() and callable(f.default) else None
                if new is None and not f.null:
                    raise RestoreError(
                        f"{model._meta.label}.{f.name} {getattr(obj, f.attname)!r} exists"
                    )
                setattr(obj, f.attname, new)
