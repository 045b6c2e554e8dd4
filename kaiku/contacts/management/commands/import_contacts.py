"""`kaiku import_contacts WORKSPACE FILE [--map column=field ...] [--dry-run]`.

The same importer as the web page: every row is checked first, then all
contacts are written in one transaction or none. Columns not given with
--map are mapped as the page suggests (by header name; other columns become
properties). Fields: email, external_id, name, phone, language,
property:<name>, ignore.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kaiku.accounts.models import Workspace
from kaiku.contacts import importer


class Command(BaseCommand):
    help = "Import contacts from a CSV file into a workspace (all rows or none)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("workspace", help="the workspace's slug")
        parser.add_argument("file", type=Path, help="a CSV file (UTF-8, comma or semicolon)")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help="what a column holds, e.g. --map 'Customer no=external_id' (repeatable)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check every row and report; write nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with the slug {options['workspace']!r}.")
        try:
            table = importer.read_csv(options["file"].read_bytes())
        except OSError as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc.strerror}") from None
        except importer.CsvError as exc:
            raise CommandError(str(exc)) from None
        mapping = self._mapping(table, options["map"])
        plan = importer.plan_import(workspace, table, mapping)
        if not plan.ok:
            self._report(plan)
            raise CommandError("Nothing was imported.")
        if options["dry_run"]:
            self.stdout.write(
                f"Dry run: {len(plan.creates)} new, {len(plan.updates)} updated, "
                f"{plan.unchanged} unchanged. Nothing was written."
            )
            return
        try:
            result = importer.import_contacts(workspace, table, mapping)
        except importer.ImportRejected as exc:
            self._report(exc.plan)
            raise CommandError("Nothing was imported.") from None
        self.stdout.write(
            f"Imported: {result.created} new, {result.updated} updated, "
            f"{result.unchanged} unchanged."
        )

    def _mapping(self, table: importer.CsvTable, given: list[str]) -> list[str]:
        mapping = importer.suggest_mapping(table.headers)
        by_header = {header.lower(): index for index, header in enumerate(table.headers)}
        for item in given:
            column, sep, target = item.partition("=")
            if not sep or column.strip().lower() not in by_header:
                raise CommandError(f"--map {item!r}: no such column (have: {table.headers}).")
            mapping[by_header[column.strip().lower()]] = target.strip()
        return mapping

    def _report(self, plan: importer.ImportPlan) -> None:
        for problem in plan.problems:
            where = f"row {problem.row}" if problem.row else "mapping"
            column = f", {problem.column}" if problem.column else ""
            self.stderr.write(f"{where}{column}: {problem.message}")
        if plan.problem_count > len(plan.problems):
            self.stderr.write(f"… and {plan.problem_count - len(plan.problems)} more problems.")
