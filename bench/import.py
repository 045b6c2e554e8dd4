"""`kaiku import` of a 1M-row Delighted CSV export into a fresh database, in-process.

- dry run: every row read and checked, duplicates looked up, nothing written.
- import: the same plus contacts (200k people) and answers written in batches.
- re-run: the same file again; every row is found by its idempotency key (0 new).
The database is a fresh SQLite file in the scratch directory, unless
KAIKU_BENCH_DATABASE_URL names a PostgreSQL database (which is then flushed).
Counts are checked (answers, contacts, NPS against the generated scores) or the
section fails: a fast wrong import is not a result.
"""

from __future__ import annotations

import csv
import os
import resource
import time
from pathlib import Path

import numpy as np

from bench import Context, benchmark, markdown_table

SEED = 20260415
PEOPLE = 200_000
PLANS = ["free", "pro", "business", "enterprise"]
COUNTRIES = ["FI", "EE", "SE", "DE", "US"]
SCORE_P = np.array([2, 1, 1, 2, 2, 4, 6, 10, 20, 24, 28], dtype=float) / 100
COMMENTS = ["", "", "", "Great support, thanks!", 'Price is "too high"', "Slow; crashes sometimes"]
BAD_EVERY = 1000  # one row in a thousand has an out-of-scale score


def generate(path: Path, rows: int) -> np.ndarray:
    """A seeded Delighted export; returns the valid scores (for the NPS check)."""
    rng = np.random.default_rng(SEED)
    start = np.datetime64("2024-01-01T00:00:00", "s")
    created = np.sort(start + rng.integers(0, 500 * 86400, rows).astype("timedelta64[s]"))
    stamps = np.datetime_as_string(created, unit="s").tolist()
    score = rng.choice(11, size=rows, p=SCORE_P)
    score[::BAD_EVERY] = 11
    person = rng.integers(0, PEOPLE, rows).tolist()
    plan = rng.integers(0, len(PLANS), rows).tolist()
    country = rng.integers(0, len(COUNTRIES), rows).tolist()
    comment = rng.integers(0, len(COMMENTS), rows).tolist()
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            [
                "Response ID",
                "Date",
                "Score",
                "Comment",
                "Email",
                "Name",
                "plan",
                "country",
                "Delighted Source",
            ]
        )
        writer.writerows(
            (
                i + 1,
                stamps[i] + "Z",
                s,
                COMMENTS[comment[i]],
                f"person{person[i]}@example.com",
                f"Person {person[i]}",
                PLANS[plan[i]],
                COUNTRIES[country[i]],
                "Email",
            )
            for i, s in enumerate(score.tolist())
        )
    return score[score <= 10]


def _setup_django(workdir: Path) -> None:
    url = os.environ.get("KAIKU_BENCH_DATABASE_URL") or f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["KAIKU_DATABASE_URL"] = url
    os.environ["KAIKU_DATA_DIR"] = str(workdir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaiku.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    if url.startswith("postgres"):
        call_command("flush", interactive=False, verbosity=0)


def _cpu() -> tuple[float, float]:
    """CPU seconds of this process, and of its finished children (the import's reader)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time(), children.ru_utime + children.ru_stime


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def _nps(scores: np.ndarray) -> float:
    return float(100 * ((scores >= 9).mean() - (scores <= 6).mean()))


@benchmark("import", "kaiku import: 1M-row Delighted CSV → answers and contacts", order=30)
def run(ctx: Context) -> str:
    rows = ctx.size(1_000_000, 20_000)
    path = ctx.workdir / "delighted.csv"
    valid_scores = generate(path, rows)
    _setup_django(ctx.workdir)

    from django.db import connection

    from kaiku.accounts.models import Workspace
    from kaiku.contacts.models import Contact
    from kaiku.responses.models import Response
    from kaiku.surveys.models import Survey
    from kaiku.transfer.importers import ImportOptions, run_import

    workspace = Workspace.objects.create(name="Bench", slug=f"bench-{int(time.time())}")
    survey = Survey.objects.create(workspace=workspace, name="NPS")
    options = ImportOptions(format="delighted-csv", survey_id=survey.pk)
    timings = []
    for label, opts in (
        ("dry run (check only)", ImportOptions(**{**options.__dict__, "dry_run": True})),
        ("import", options),
        ("re-run (all duplicates)", options),
    ):
        start, (main_cpu, reader_cpu) = time.perf_counter(), _cpu()
        outcome = run_import(workspace, path, opts)
        wall, (main_end, reader_end) = time.perf_counter() - start, _cpu()
        cpu = (main_end - main_cpu, reader_end - reader_cpu)
        timings.append((label, wall, cpu, outcome))

    stored = Response.objects.filter(survey=survey)
    stored_scores = np.array(list(stored.values_list("score", flat=True)))
    _check(timings, len(valid_scores), stored_scores, valid_scores, workspace, Contact)
    size_mb = path.stat().st_size / 1e6
    headers = ["step", "wall s", "rows/s", "CPU s main + reader", "rows/s if CPU-bound"]
    table = markdown_table(
        [*headers, "created", "duplicates", "rejected"],
        [
            [label, f"{wall:.1f}", f"{rows / wall:,.0f}", f"{cpu[0]:.1f} + {cpu[1]:.1f}",
             f"{rows / max(cpu):,.0f}", f"{o.created:,}", f"{o.duplicates:,}", f"{o.rejected:,}"]
            for label, wall, cpu, o in timings
        ],
    )  # fmt: skip
    return (
        f"{rows:,} rows ({size_mb:.0f} MB), {PEOPLE:,} people, 1 row in {BAD_EVERY} out of "
        f"scale; database: {connection.vendor}; a reader process checks rows while the main "
        f"process writes. CPU s is each process's CPU time (on SQLite the main process's "
        f"includes the database's work; on PostgreSQL the server's is not in it). With a core "
        f"each, the slower process sets the pace: *rows/s if CPU-bound* = rows / the larger "
        f"CPU time, what the wall figure approaches on an idle machine; on a busy one wall "
        f"time also waits for a CPU. Load average at start: {_load()}.\n"
        f"Checked: answers stored = valid rows, NPS of stored = NPS of generated "
        f"({_nps(stored_scores):.2f}), re-run creates 0.\n\n{table}"
    )


def _check(timings, expected, stored_scores, valid_scores, workspace, contact_model) -> None:
    dry, imported, again = (t[3] for t in timings)
    problems = []
    if dry.created != expected or imported.created != expected:
        problems.append(f"created: dry {dry.created}, import {imported.created}, want {expected}")
    if again.created != 0 or again.duplicates != expected:
        problems.append(f"re-run created {again.created}, duplicates {again.duplicates}")
    if len(stored_scores) != expected or abs(_nps(stored_scores) - _nps(valid_scores)) > 1e-9:
        problems.append("stored answers differ from the generated ones")
    if contact_model.objects.filter(workspace=workspace).count() != imported.contacts_created:
        problems.append("contact count differs")
    if problems:
        raise RuntimeError("; ".join(problems))
