"""`kaiku analyze` on a 1M-row CSV, against a numpy floor and a naive per-row reader.

- analyze: `main([...])` in-process (parse + statistics + JSON), median of 3.
- numpy reference: only the np.bincount calls, over columns already in memory as integer
  codes: the floor left once parsing is free.
- naive: csv.DictReader and dict counts, one Python dict per row: what streaming replaces.
- CLI: the console script in a fresh process (interpreter and numpy start-up included).
All three must count the same answers per month, plan and country, or the section fails.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bench import Context, benchmark, markdown_table, median_seconds
from kaiku.analyze import main as analyze_main

SEED = 20260301
MONTHS = 18
PLANS = {"free": 0.50, "pro": 0.30, "business": 0.15, "enterprise": 0.05}
COUNTRIES = {"FI": 0.35, "EE": 0.20, "SE": 0.15, "DE": 0.10, "US": 0.10, "GB": 0.06, "LV": 0.04}
# Score 0..10 probabilities: a typical B2B SaaS shape, NPS around +25.
SCORE_P = np.array([2, 1, 1, 2, 2, 4, 6, 10, 20, 24, 28], dtype=float) / 100
COMMENTS = ["", "", "", "Great support, thanks!", 'Price is "too high"', "slow; crashes sometimes"]
ARGS = ["--period", "month", "--by", "plan", "--by", "country", "--format", "json"]


@dataclass
class Columns:
    """The generated data as integer codes: what the numpy reference counts."""

    score: npt.NDArray[np.int64]  # -1 = blank (skipped)
    month: npt.NDArray[np.int64]
    plan: npt.NDArray[np.int64]
    country: npt.NDArray[np.int64]


def generate(path: Path, rows: int, seed: int = SEED) -> Columns:
    """A seeded, realistic export: ids, UTC timestamps over 18 months, 0.2% blank scores."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2025-01-01T00:00:00", "s")
    seconds = rng.integers(0, MONTHS * 30 * 86400, rows)
    created = np.sort(start + seconds.astype("timedelta64[s]"))
    score = rng.choice(11, size=rows, p=SCORE_P)
    score[rng.random(rows) < 0.002] = -1
    plan = rng.choice(len(PLANS), size=rows, p=list(PLANS.values()))
    country = rng.choice(len(COUNTRIES), size=rows, p=list(COUNTRIES.values()))
    comment = rng.integers(0, len(COMMENTS), rows)
    _write(path, created, score, plan, country, comment)
    month = created.astype("datetime64[M]").astype(np.int64)
    return Columns(score, month - month.min(), plan, country)


def _write(path: Path, created, score, plan, country, comment) -> None:
    stamps = np.datetime_as_string(created, unit="s", timezone="UTC").tolist()
    plans, countries = list(PLANS), list(COUNTRIES)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "created_at", "score", "plan", "country", "comment"])
        writer.writerows(
            (i + 1, stamps[i], "" if s < 0 else s, plans[p], countries[c], COMMENTS[m])
            for i, (s, p, c, m) in enumerate(
                zip(score.tolist(), plan.tolist(), country.tolist(), comment.tolist(), strict=True)
            )
        )


def run_analyze(path: Path) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = analyze_main([str(path), *ARGS])
    if code != 0:
        raise RuntimeError(f"kaiku analyze exited {code}")
    return json.loads(out.getvalue())


def numpy_reference(cols: Columns) -> dict[str, npt.NDArray[np.int64]]:
    valid = cols.score >= 0
    score = cols.score[valid]
    return {
        "overall": np.bincount(score, minlength=11),
        "month": np.bincount(cols.month[valid] * 11 + score).reshape(-1, 11),
        "plan": np.bincount(cols.plan[valid] * 11 + score).reshape(-1, 11),
        "country": np.bincount(cols.country[valid] * 11 + score).reshape(-1, 11),
    }


def naive(path: Path) -> dict[str, Counter[str]]:
    """One dict per row and Python counting: n per month, plan and country."""
    counts: dict[str, Counter[str]] = {"month": Counter(), "plan": Counter(), "country": Counter()}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            try:
                score = int(row["score"])
                day = datetime.fromisoformat(row["created_at"]).date()
            except ValueError:
                continue
            if 0 <= score <= 10:
                counts["month"][f"{day.year:04d}-{day.month:02d}"] += 1
                counts["plan"][row["plan"]] += 1
                counts["country"][row["country"]] += 1
    return counts


def validate(result: dict, ref: dict[str, npt.NDArray[np.int64]], slow: dict) -> None:
    """The three ways must count the same answers, or the timings compare nothing."""
    months = {row["period"]: row["n"] for row in result["periods"]}
    _same(months, dict(slow["month"]), "months: analyze vs naive")
    _same(sorted(months.values()), sorted(ref["month"].sum(axis=1).tolist()), "months: vs numpy")
    for column, names in (("plan", list(PLANS)), ("country", list(COUNTRIES))):
        seen = {row["value"]: row["n"] for row in result["segments"][column]}
        _same(seen, dict(slow[column]), f"{column}: analyze vs naive")
        expected = dict(zip(names, ref[column].sum(axis=1).tolist(), strict=False))
        _same(seen, expected, f"{column}: analyze vs numpy")


def _same(got: object, expected: object, what: str) -> None:
    # Not `assert`: python -O would drop the check and time a wrong answer.
    if got != expected:
        raise RuntimeError(f"{what} differ: {got} != {expected}")


def _cli_seconds(path: Path) -> float:
    command = [sys.executable, "-m", "kaiku", "analyze", str(path), *ARGS]

    def once() -> None:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr}")

    return median_seconds(once)


@benchmark("analyze", "kaiku analyze: CSV → NPS by month, plan and country", order=10)
def run(ctx: Context) -> str:
    rows = ctx.size(1_000_000, 20_000)
    path = ctx.workdir / "answers.csv"
    cols = generate(path, rows)
    result = run_analyze(path)  # warm the page cache and check before timing
    validate(result, numpy_reference(cols), naive(path))
    t_analyze = median_seconds(lambda: run_analyze(path))
    t_numpy = median_seconds(lambda: numpy_reference(cols))
    t_naive = median_seconds(lambda: naive(path))
    t_cli = _cli_seconds(path)
    size_mb = path.stat().st_size / 1e6
    table = markdown_table(
        ["approach", "median s (of 3)", "rows/s", "vs analyze"],
        [
            _line("`kaiku analyze` in-process", t_analyze, rows, t_analyze),
            _line("`kaiku analyze` CLI (new process)", t_cli, rows, t_analyze),
            _line("numpy reference (bincount only)", t_numpy, rows, t_analyze),
            _line("naive csv.DictReader + dicts", t_naive, rows, t_analyze),
        ],
    )
    return (
        f"{rows:,} rows, {size_mb:.0f} MB, 6 columns; "
        f"`kaiku analyze answers.csv {' '.join(ARGS)}`.\n"
        f"Counts per month, plan and country agree across the three approaches.\n\n{table}\n\n"
        f"naive / analyze = **{t_naive / t_analyze:.1f}x**; "
        f"analyze / numpy floor = {t_analyze / t_numpy:.0f}x (the floor does no parsing)."
    )


def _line(name: str, seconds: float, rows: int, base: float) -> list[str]:
    return [name, f"{seconds:.3f}", f"{rows / seconds:,.0f}", f"{seconds / base:.2f}x"]
