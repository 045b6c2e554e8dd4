"""Import runs: the actions behind the import page, its background job and `kaiku import`.

An ImportRun records one file's way in: uploaded → (checked by a dry run) →
queued → running → done or failed, with progress, counts and the rejected
rows' report. The job claims a queued run with a conditional update, so a
run is executed once however many workers see the job.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kaiku.accounts.models import Workspace
from kaiku.transfer.audit import Actor, audit
from kaiku.transfer.importers import FORMATS, ImportFailed, ImportOptions, Progress, run_import
from kaiku.transfer.models import AuditAction, ImportRun, ImportStatus

logger = logging.getLogger(__name__)

# Progress is written to the run at most this often (in rows), not after every batch.
PROGRESS_EVERY_ROWS = 10_000


def upload_dir() -> Path:
    path = Path(settings.DATA_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_upload(workspace: Workspace, source: IO[bytes], filename: str, *, user: Any) -> ImportRun:
    """Save an uploaded file under KAIKU_DATA_DIR/imports and start its run."""
    target = upload_dir() / f"{workspace.pk}-{uuid.uuid4().hex}.upload"
    size = 0
    with target.open("wb") as out:
        while chunk := source.read(1 << 20):
            out.write(chunk)
            size += len(chunk)
    return ImportRun.objects.create(
        workspace=workspace,
        source="csv",
        filename=Path(filename).name[:255],
        stored_path=str(target),
        total_bytes=size,
        created_by=user,
    )


def run_options(run: ImportRun) -> ImportOptions:
    settings_ = run.mapping or {}
    return ImportOptions(
        format=run.source,
        survey_id=run.survey_id,
        mapping=settings_.get("columns", {}),
        dry_run=run.dry_run,
        date_format=settings_.get("date_format", ""),
        time_zone=settings_.get("time_zone", ""),
    )


def queue_run(run: ImportRun, *, dry_run: bool, actor: Actor) -> bool:
    """Queue a dry run or the import itself; False if the run is busy or finished."""
    allowed = [ImportStatus.UPLOADED, ImportStatus.CHECKED, ImportStatus.FAILED]
    queued = ImportRun.objects.filter(pk=run.pk, status__in=allowed).update(
        status=ImportStatus.QUEUED, dry_run=dry_run, processed_rows=0, processed_bytes=0, error=""
    )
    if not queued:
        return False
    if not dry_run:
        audit(run.workspace, actor, AuditAction.IMPORT_STARTED, run, details={"file": run.filename})
    from kaiku.transfer.tasks import run_import_job

    transaction.on_commit(lambda: run_import_job.enqueue(run.pk), robust=True)
    return True


def execute_import_run(import_run_id: int) -> None:
    """The job: claim the queued run, import (or check) its file, store the outcome."""
    claimed = ImportRun.objects.filter(pk=import_run_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING
    )
    if not claimed:
        logger.info("import run %s is not queued (taken or gone)", import_run_id)
        return
    run = ImportRun.objects.select_related("workspace").get(pk=import_run_id)
    try:
        outcome = run_import(
            run.workspace, Path(run.stored_path), run_options(run), _progress_writer(run)
        )
    except ImportFailed as exc:
        _finish(run, ImportStatus.FAILED, None, error=exc.message)
        return
    except Exception:
        logger.exception("import run %s failed", import_run_id)
        _finish(run, ImportStatus.FAILED, None, error="Internal error; it has been logged.")
        raise
    _finish(run, ImportStatus.CHECKED if run.dry_run else ImportStatus.DONE, outcome)


def _progress_writer(run: ImportRun) -> Any:
    last = {"rows": 0}

    def write(progress: Progress) -> None:
        if progress.rows - last["rows"] < PROGRESS_EVERY_ROWS:
            return
        last["rows"] = progress.rows
        ImportRun.objects.filter(pk=run.pk).update(
            processed_rows=progress.rows,
            processed_bytes=progress.bytes_read,
            counts=progress.counts(),
        )

    return write


def _finish(run: ImportRun, status: str, outcome: Progress | None, *, error: str = "") -> None:
    fields: dict[str, Any] = {"status": status, "finished_at": timezone.now(), "error": error[:500]}
    if outcome is not None:
        fields |= {
            "processed_rows": outcome.rows,
            "processed_bytes": outcome.total_bytes,
            "counts": outcome.counts(),
            "report": outcome.report.rows,
        }
    if status == ImportStatus.DONE:
        _delete_upload(run)
        fields["stored_path"] = ""
    ImportRun.objects.filter(pk=run.pk).update(**fields)
    if status == ImportStatus.DONE and outcome is not None:
        audit(
            run.workspace,
            run.created_by,
            AuditAction.IMPORT_FINISHED,
            run,
            details={"format": run.source, **_audit_counts(outcome)},
        )


def _audit_counts(outcome: Progress) -> dict[str, int]:
    counts = outcome.counts()
    return {k: counts[k] for k in ("rows", "created", "duplicates", "rejected", "contacts_created")}


def _delete_upload(run: ImportRun) -> None:
    if run.stored_path:
        Path(run.stored_path).unlink(missing_ok=True)


def record_cli_run(
    workspace: Workspace, options: ImportOptions, filename: str, outcome: Progress
) -> ImportRun:
    """`kaiku import` ran in the terminal: keep its outcome in the workspace's import history."""
    run = ImportRun.objects.create(
        workspace=workspace,
        survey_id=options.survey_id,
        source=options.format,
        filename=Path(filename).name[:255],
        mapping={"columns": dict(options.mapping)},
        status=ImportStatus.CHECKED if options.dry_run else ImportStatus.DONE,
        dry_run=options.dry_run,
        processed_rows=outcome.rows,
        total_bytes=outcome.total_bytes,
        processed_bytes=outcome.total_bytes,
        counts=outcome.counts(),
        report=outcome.report.rows,
        finished_at=timezone.now(),
    )
    if not options.dry_run:
        audit(
            workspace,
            "cli",
            AuditAction.IMPORT_FINISHED,
            run,
            details={"format": options.format, **_audit_counts(outcome)},
        )
    return run


def format_is_known(name: str) -> bool:
    return name in FORMATS


# Uploaded files nobody imported are deleted after this long.
UPLOAD_KEEP = timedelta(days=7)


def prune_abandoned_uploads(now: datetime | None = None) -> int:
    """Delete uploaded files of runs left unfinished for a week; the runs stay, marked failed."""
    cutoff = (now or timezone.now()) - UPLOAD_KEEP
    stale = ImportRun.objects.filter(created_at__lt=cutoff).exclude(stored_path="")
    stale = stale.exclude(status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING])
    pruned = 0
    for run in stale:
        _delete_upload(run)
        ImportRun.objects.filter(pk=run.pk).update(
            stored_path="",
            status=ImportStatus.FAILED if run.status != ImportStatus.DONE else run.status,
            error=run.error or "The uploaded file was deleted after 7 days.",
        )
        pruned += 1
    return pruned
