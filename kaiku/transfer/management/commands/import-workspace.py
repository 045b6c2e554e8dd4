"""`kaiku import-workspace FILE [--slug NEW] [--owner EMAIL]`: restore an exported workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kaiku.accounts.models import User
from kaiku.transfer.audit import audit
from kaiku.transfer.models import AuditAction
from kaiku.transfer.workspace_import import RestoreError, import_workspace


class Command(BaseCommand):
    help = "Create a workspace from a `kaiku export-workspace` file (all or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--slug", help="the new workspace's slug (default: the exported one)")
        parser.add_argument("--name", help="the new workspace's name (default: the exported one)")
        parser.add_argument("--owner", help="email of an existing user to make its owner")

    def handle(self, *args: Any, **options: Any) -> None:
        owner = None
        if options["owner"]:
            owner = User.objects.filter(email=options["owner"].strip().lower()).first()
            if owner is None:
                raise CommandError(f"no user with the email {options['owner']!r}")
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            with path.open(encoding="utf-8") as stream:
                restored = import_workspace(
                    stream, slug=options["slug"], name=options["name"], owner=owner
                )
        except (RestoreError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        workspace = restored.workspace
        audit(workspace, "cli", AuditAction.WORKSPACE_IMPORTED, workspace, details=restored.counts)
        self.stdout.write(f"Workspace {workspace.slug!r} created:")
        for table, count in restored.counts.items():
            self.stdout.write(f"  {table}: {count:,}")
        for table in restored.skipped_tables:
            self.stdout.write(f"  {table}: skipped (not installed on this server)")
        if restored.members:
            self.stdout.write("Members: " + ", ".join(restored.members))
        if restored.members_missing:
            self.stdout.write(
                "Not found on this server (invite them): " + ", ".join(restored.members_missing)
            )
