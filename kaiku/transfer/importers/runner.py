"""Run an import: stream the file, check each row, write batches, report progress.

Memory stays flat whatever the file's size: CSV files are read batch by batch
(`csv.reader` over the open file, `islice` chunks, as `kaiku analyze` does) and
only the rejected rows' first MAX_REPORTED_ROWS entries are kept.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import IO, Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from kaiku.accounts.models import Workspace
from kaiku.analyze.reader import sniff_delimiter
from kaiku.surveys.models import Survey
from kaiku.transfer.importers import formats
from kaiku.transfer.importers.base import (
    Report,
    RowContext,
    RowRejected,
    SourceRow,
    ValidRow,
    check_row,
)
from kaiku.transfer.importers.formats import ImportFormat, ImportOptions, get_format, merge_mapping
from kaiku.transfer.importers.mapping import Layout, check_mapping
from kaiku.transfer.importers.pipeline import CheckedBatch, checked_in_child, use_child
from kaiku.transfer.importers.writer import BatchWriter

HEADER_PEEK_BYTES = 256 * 1024


class ImportFailed(Exception):
    """The file cannot be imported at all (unreadable, bad mapping …); `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Progress:
    rows: int = 0
    created: int = 0
    duplicates: int = 0
    contacts_created: int = 0
    contacts_updated: int = 0
    bytes_read: int = 0
    total_bytes: int = 0
    report: Report = field(default_factory=Report)

    @property
    def rejected(self) -> int:
        return self.report.rejected

    def counts(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": self.created,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "contacts_created": self.contacts_created,
            "contacts_updated": self.contacts_updated,
            "rejected_by_reason": dict(self.report.counts),
        }


ProgressCallback = Callable[[Progress], None]


def read_header(path: Path) -> tuple[list[str], str]:
    """The header cells and the delimiter of a CSV file (for the mapping step)."""
    with path.open("rb") as raw:
        head = raw.read(HEADER_PEEK_BYTES)
    text = codecs.getincrementaldecoder("utf-8-sig")(errors="replace").decode(head)
    first_line = text.split("\n", 1)[0].rstrip("\r")
    if not first_line.strip():
        raise ImportFailed(
            _("The file is empty or its first line is blank; it must be the header row.")
        )
    delimiter = sniff_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [cell.strip() for cell in next(reader)], delimiter


def resolve_mapping(
    fmt: ImportFormat, headers: list[str], options: ImportOptions
) -> dict[str, str]:
    mapping = merge_mapping(fmt.default_mapping(headers), options.mapping)
    check_mapping(headers, mapping, contacts_only=options.survey_id is None)
    return mapping


def run_import(
    workspace: Workspace,
    path: Path,
    options: ImportOptions,
    progress: ProgressCallback | None = None,
) -> Progress:
    """Import (or, with options.dry_run, only check) the file. Raises ImportFailed."""
    fmt = get_format(options.format)
    survey = _survey(workspace, options.survey_id)
    context = RowContext(
        survey=survey,
        source=fmt.source,
        secret=workspace.secret,
        zone=_zone(workspace, fmt, options),
        date_format=options.date_format,
    )
    state = Progress(total_bytes=path.stat().st_size)
    writer = BatchWriter(workspace, survey, dry_run=options.dry_run, source=fmt.source)
    if use_child(path, options.parallel):
        options = replace(options, language=options.language or get_language() or "")
        batches = checked_in_child(path, options, context)
    else:
        batches = checked_batches(path, options, context)
    with _gc_paused():
        for batch in batches:
            state.rows += batch.rows
            for entry in batch.rejected:
                state.report.add_entry(*entry)
            _write(writer, batch.valid, state)
            state.bytes_read = batch.bytes_read
            if progress is not None:
                progress(state)
    if state.rows == 0:
        raise ImportFailed(_("The file has no rows under the header."))
    return state


def _write(writer: BatchWriter, valid: list[ValidRow], state: Progress) -> None:
    result = writer.write(valid)
    state.created += result.created
    state.duplicates += result.duplicates
    state.contacts_created += result.contacts_created
    state.contacts_updated += result.contacts_updated


def checked_batches(
    path: Path, options: ImportOptions, context: RowContext
) -> Iterator[CheckedBatch]:
    """Read the file batch by batch and check every row (no database access)."""
    fmt = get_format(options.format)
    with path.open("rb") as raw, _gc_paused():
        sources = (
            _csv_batches(fmt, raw, options) if fmt.is_csv else _json_batches(fmt, raw, options)
        )
        try:
            for batch in sources:
                yield _checked(batch, context, raw.tell())
        except UnicodeDecodeError as exc:
            raise ImportFailed(
                _("The file is not UTF-8 text (%(reason)s); save it as CSV UTF-8.")
                % {"reason": exc.reason}
            ) from None
        except csv.Error as exc:
            raise ImportFailed(
                _("The file is not a valid CSV file: %(error)s") % {"error": exc}
            ) from None


def _checked(batch: list[SourceRow], context: RowContext, bytes_read: int) -> CheckedBatch:
    checked = CheckedBatch(valid=[], rows=len(batch), bytes_read=bytes_read)
    for source in batch:
        try:
            checked.valid.append(check_row(source, context))
        except RowRejected as exc:
            checked.rejected.append((source.row, exc.field, exc.code, str(exc.message)))
    return checked


def _csv_batches(
    fmt: ImportFormat, raw: IO[bytes], options: ImportOptions
) -> Iterator[list[SourceRow]]:
    stream = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    first_line = stream.readline()
    if not first_line.strip():
        raise ImportFailed(
            _("The file is empty or its first line is blank; it must be the header row.")
        )
    delimiter = sniff_delimiter(first_line)
    headers = [cell.strip() for cell in next(csv.reader([first_line], delimiter=delimiter))]
    try:
        layout = Layout.compile(headers, resolve_mapping(fmt, headers, options))
    except ValueError as exc:
        raise ImportFailed(str(exc)) from None
    reader = csv.reader(stream, delimiter=delimiter)
    number = 1
    while chunk := list(islice(reader, options.batch_size)):
        batch = []
        for cells in chunk:
            number += 1
            if cells and any(cells):
                batch.append(layout.source_row(number, cells))
        yield batch


def _json_batches(
    fmt: ImportFormat, raw: IO[bytes], options: ImportOptions
) -> Iterator[list[SourceRow]]:
    stream = io.TextIOWrapper(raw, encoding="utf-8-sig")
    try:
        rows = fmt.json_rows(stream)
        while chunk := list(islice(rows, options.batch_size)):
            yield chunk
    except ValueError as exc:  # json.JSONDecodeError included
        raise ImportFailed(_("The file is not valid JSON: %(error)s") % {"error": exc}) from None


def _survey(workspace: Workspace, survey_id: int | None) -> Survey | None:
    if survey_id is None:
        return None
    survey = Survey.objects.filter(workspace=workspace, pk=survey_id).first()
    if survey is None:
        raise ImportFailed(_("There is no survey %(id)s in this workspace.") % {"id": survey_id})
    return survey


def _zone(workspace: Workspace, fmt: ImportFormat, options: ImportOptions) -> zoneinfo.ZoneInfo:
    name = options.time_zone or (workspace.time_zone if fmt.default_zone == "workspace" else "UTC")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImportFailed(_("Unknown time zone %(zone)s.") % {"zone": name}) from None


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic collector: a batch is thousands of new objects without cycles.

    Same reason as kaiku.analyze.reader: the collector would rescan every
    batch's rows again and again; reference counting frees them anyway.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


__all__ = ["ImportFailed", "ImportOptions", "Progress", "formats", "read_header", "run_import"]
