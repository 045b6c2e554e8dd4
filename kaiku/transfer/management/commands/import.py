"""`kaiku import WORKSPACE FILE --format … --survey ID [--map COLUMN=FIELD …] [--dry-run]`."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from kaiku.accounts.models import Workspace
from kaiku.transfer.importers import FORMATS, ImportFailed, ImportOptions, Progress, run_import
from kaiku.transfer.importers.mapping import MappingError, parse_map_options
from kaiku.transfer.imports import record_cli_run

SHOWN_REJECTIONS = 20


class Command(BaseCommand):
    help = (
        "Import answers (or contacts) from a Delighted, Formbricks or any CSV file. "
        "Check first with --dry-run; re-running a file imports nothing twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("workspace", help="the workspace's slug")
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", required=True, choices=sorted(FORMATS))
        parser.add_argument("--survey", type=int, help="the survey's id (answers go there)")
        parser.add_argument(
            "--contacts-only", action="store_true", help="import the people, not answers"
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help="score, created_at, comment, response_id, email, external_id, name, "
            "first_name, last_name, phone, language, property:<name> or ignore",
        )
        parser.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
        parser.add_argument("--date-format", default="", help="strptime format, e.g. %%m/%%d/%%Y")
        parser.add_argument("--time-zone", default="", help="for dates without an offset")
        parser.add_argument("--report", type=Path, help="write the rejected rows to this CSV file")
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"no workspace with the slug {options['workspace']!r}")
        if options["survey"] is None and not options["contacts_only"]:
            raise CommandError("--survey ID is required (or --contacts-only)")
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            import_options = ImportOptions(
                format=options["format"],
                survey_id=None if options["contacts_only"] else options["survey"],
                mapping=parse_map_options(options["map"]),
                dry_run=options["dry_run"],
                date_format=options["date_format"],
                time_zone=options["time_zone"],
                batch_size=max(100, options["batch_size"]),
            )
            bar = ProgressBar(self.stderr)
            outcome = run_import(workspace, path, import_options, bar.update)
            bar.done(outcome)
        except (ImportFailed, MappingError) as exc:
            raise CommandError(str(exc)) from None
        record_cli_run(workspace, import_options, str(path), outcome)
        self._summary(outcome, import_options.dry_run)
        if options["report"]:
            write_report(options["report"], outcome)

    def _summary(self, outcome: Progress, dry_run: bool) -> None:
        verb = "would be imported" if dry_run else "imported"
        out = self.stdout
        out.write(
            f"{outcome.rows:,} rows: {outcome.created:,} {verb}, "
            f"{outcome.duplicates:,} already there, {outcome.rejected:,} rejected; "
            f"contacts: {outcome.contacts_created:,} new, {outcome.contacts_updated:,} updated"
        )
        for entry in outcome.report.rows[:SHOWN_REJECTIONS]:
            out.write(f"  row {entry['row']}: {entry['field']}: {entry['reason']}")
        more = outcome.rejected - min(SHOWN_REJECTIONS, len(outcome.report.rows))
        if more > 0:
            out.write(f"  … and {more:,} more (--report FILE lists up to 1,000)")
        if dry_run:
            out.write("Dry run: nothing was written.")


class ProgressBar:
    """A one-line progress bar on a terminal; a line per 10% when stderr is a file."""

    WIDTH = 30

    def __init__(self, stream: OutputWrapper) -> None:
        self.stream = stream
        self.start = time.monotonic()
        self.tty = stream.isatty()
        self.last_decile = -1

    def update(self, progress: Progress) -> None:
        share = progress.bytes_read / progress.total_bytes if progress.total_bytes else 0
        line = self._line(progress, share)
        if self.tty:
            self.stream.write("\r" + line, ending="")
            self.stream.flush()
        elif int(share * 10) > self.last_decile:
            self.last_decile = int(share * 10)
            self.stream.write(line)

    def done(self, progress: Progress) -> None:
        if self.tty:
            self.stream.write("\r" + self._line(progress, 1.0))
        elif self.last_decile < 10:
            self.stream.write(self._line(progress, 1.0))

    def _line(self, progress: Progress, share: float) -> str:
        filled = int(self.WIDTH * min(share, 1.0))
        rate = progress.rows / max(time.monotonic() - self.start, 1e-6)
        return (
            f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {share:4.0%} "
            f"{progress.rows:,} rows · {rate:,.0f} rows/s · {progress.rejected:,} rejected"
        )


def write_report(path: Path, outcome: Progress) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["row", "field", "code", "reason"])
        writer.writerows(
            [entry["row"], entry["field"], entry["code"], entry["reason"]]
            for entry in outcome.report.rows
        )
