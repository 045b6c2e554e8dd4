"""The editable list of root causes / resolutions, with a starter set per workspace."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils.text import slugify

from kaiku.accounts.models import Workspace
from kaiku.loop.errors import CaseError
from kaiku.loop.models import ResolutionCategory
from kaiku.loop.starter import CATEGORY_LABELS


def ensure_categories(workspace: Workspace) -> None:
    """Create the starter categories the first time a workspace needs them (idempotent)."""
    if ResolutionCategory.objects.filter(workspace=workspace).exists():
        return
    ResolutionCategory.objects.bulk_create(
        [
            ResolutionCategory(workspace=workspace, key=key, position=index)
            for index, key in enumerate(CATEGORY_LABELS)
        ],
        ignore_conflicts=True,  # a concurrent first request created them
    )


def categories(workspace: Workspace, *, active_only: bool = False) -> QuerySet[ResolutionCategory]:
    ensure_categories(workspace)
    rows = ResolutionCategory.objects.filter(workspace=workspace)
    return rows.filter(is_active=True) if active_only else rows


def add_category(workspace: Workspace, name: str) -> ResolutionCategory:
    name = name.strip()
    if not name:
        raise CaseError("empty name", field="name")
    ensure_categories(workspace)
    base = slugify(name)[:50] or "category"
    with transaction.atomic(durable=True):
        existing = set(
            ResolutionCategory.objects.filter(workspace=workspace).values_list("key", flat=True)
        )
        key, n = base, 2
        while key in existing:
            key, n = f"{base}-{n}", n + 1
        last = ResolutionCategory.objects.filter(workspace=workspace).aggregate(m=Max("position"))
        return ResolutionCategory.objects.create(
            workspace=workspace, key=key, name=name, position=(last["m"] or 0) + 1
        )


def rename_category(category: ResolutionCategory, name: str) -> None:
    # A blank name brings back a starter category's translated label.
    category.name = name.strip()
    category.save(update_fields=["name"])


def set_active(category: ResolutionCategory, active: bool) -> None:
    """Retired categories stay on the cases that have them; new resolutions cannot pick them."""
    ResolutionCategory.objects.filter(pk=category.pk).update(is_active=active)
