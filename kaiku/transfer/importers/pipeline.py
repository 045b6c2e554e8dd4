"""Read and check rows in a second process while this one writes: two cores, one import.

Reading a batch (CSV parsing, checks, idempotency keys) costs about a quarter
of an import; the writes cost the rest and must stay in the process that holds
the database connection. For big files a child process reads and checks the
next batch while the parent writes the previous one; checked rows cross as
plain tuples (pickling a tuple is ~5x cheaper than a dataclass), and the pipe
between them holds about one batch, so memory stays flat.

The child is started with "spawn", not "fork": an import may run inside
`kaiku worker`, whose scheduler thread could hold a lock at the moment of a
fork. Spawning costs a second of start-up, so small files are read in-process.
"""

from __future__ import annotations

import multiprocessing
import pickle
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kaiku.transfer.importers.base import RowContext, ValidRow

# Files at least this big are read by a child process (about 200,000 rows).
PARALLEL_MIN_BYTES = 20 * 1024 * 1024


@dataclass
class CheckedBatch:
    valid: list[ValidRow]
    rejected: list[tuple[int, str, str, str]] = field(
        default_factory=list
    )  # row, field, code, reason
    rows: int = 0
    bytes_read: int = 0


def to_tuple(row: ValidRow) -> tuple[Any, ...]:
    return (
        row.row, row.key, row.source_ref, row.score, row.created_at, row.comment, row.language,
        row.properties, row.email, row.external_id, row.name, row.phone,
    )  # fmt: skip


def from_tuple(values: tuple[Any, ...]) -> ValidRow:
    return ValidRow(*values)


def use_child(path: Path, parallel: bool | None) -> bool:
    if parallel is not None:
        return parallel
    return path.stat().st_size >= PARALLEL_MIN_BYTES


def checked_in_child(path: Path, options: Any, context: RowContext) -> Iterator[CheckedBatch]:
    """The same batches as runner.checked_batches, produced by a spawned process."""
    from kaiku.transfer import reader_process
    from kaiku.transfer.importers.runner import ImportFailed

    spawn = multiprocessing.get_context("spawn")
    receive, send = spawn.Pipe(duplex=False)
    blob = pickle.dumps((path, options, context))
    child = spawn.Process(target=reader_process.main, args=(send, blob), name="kaiku-import-reader")
    child.start()
    send.close()  # the parent only reads; EOF once the child is gone
    try:
        while True:
            try:
                message = receive.recv()
            except EOFError:
                raise RuntimeError("the import's reader process ended unexpectedly") from None
            kind = message[0]
            if kind == "batch":
                _kind, valid, rejected, rows, bytes_read = message
                yield CheckedBatch([from_tuple(v) for v in valid], rejected, rows, bytes_read)
            elif kind == "done":
                return
            elif kind == "failed":
                raise ImportFailed(message[1])
            else:
                raise RuntimeError(f"the import's reader process failed:\n{message[1]}")
    finally:
        receive.close()
        if child.is_alive():
            child.terminate()
        child.join(timeout=10)
