"""`kaiku export-workspace SLUG > file.json`: the whole workspace for another Kaiku server."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kaiku.accounts.models import Workspace
from kaiku.transfer.audit import audit
from kaiku.transfer.models import AuditAction
from kaiku.transfer.workspace_export import export_workspace, unregistered_models


class Command(BaseCommand):
    help = "Write a workspace (surveys, contacts, answers, settings …) as JSON to stdout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("workspace", help="the workspace's slug")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"no workspace with the slug {options['workspace']!r}")
        for label in unregistered_models():
            sys.stderr.write(f"warning: {label} is not exported (not registered for transfer)\n")
        for chunk in export_workspace(workspace):
            # ending="": OutputWrapper would end every chunk with a newline.
            self.stdout.write(chunk, ending="")
        self.stdout.flush()
        audit(workspace, "cli", AuditAction.WORKSPACE_EXPORTED, workspace)
