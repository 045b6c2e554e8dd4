"""`kaiku analyze FILE ...`: NPS/CSAT/CES statistics for a CSV file, without Django.

kaiku/__main__.py calls main() before Django is set up, so nothing here (or in the modules it
imports) may import Django: the command must work with no settings and no database.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from kaiku import metrics
from kaiku.analyze.errors import AnalyzeError
from kaiku.analyze.reader import PERIODS, Period, ReadSpec, read_histograms
from kaiku.analyze.report import FORMATS, render
from kaiku.analyze.summary import (
    DEFAULT_SCALE,
    METRICS,
    SCALE_MIN,
    Analysis,
    Figures,
    Metric,
    summarise,
)

PROG = "kaiku analyze"
CI_METHODS: tuple[metrics.CiMethod, ...] = ("adjusted-wald", "wald", "tango", "bayes")
DEFAULT_DATE_COLUMN = "created_at"
MAX_SCALE = 100  # keeps histograms small; no survey scale is longer


def analyze(
    path: str | Path,
    *,
    score_column: str = "score",
    date_column: str | None = None,
    period: Period | None = None,
    by: Sequence[str] = (),
    metric: Metric = "nps",
    scale: int | None = None,
    ci_method: metrics.CiMethod | None = None,
) -> Analysis:
    """Read and summarise one file. Raises AnalyzeError for bad input or option combinations."""
    figures = _figures(metric, scale, ci_method)
    spec = ReadSpec(
        score_column=score_column,
        date_column=date_column or DEFAULT_DATE_COLUMN,
        # A date column the user named, or one a period needs, must exist; the default
        # created_at is only used (and its dates checked) when the file has it.
        date_column_required=date_column is not None or period is not None,
        period=period,
        by=tuple(dict.fromkeys(by)),  # --by plan --by plan is one table
        scale_min=figures.scale_min,
        scale_max=figures.scale_max,
    )
    return summarise(read_histograms(path, spec), figures, period)


def _figures(metric: Metric, scale: int | None, ci_method: metrics.CiMethod | None) -> Figures:
    top = DEFAULT_SCALE[metric] if scale is None else scale
    if metric == "nps" and top != 10:
        raise AnalyzeError("--scale: NPS is always answered on 0-10 (only --scale 10)")
    if not SCALE_MIN[metric] + 1 < top <= MAX_SCALE:
        raise AnalyzeError(f"--scale: {metric} scale 1-{top} is not supported (3 to {MAX_SCALE})")
    if metric != "nps" and ci_method is not None:
        raise AnalyzeError(f"--ci-method applies to NPS only; {metric} uses its own interval")
    return Figures(metric, top, ci_method or "adjusted-wald")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="NPS, CSAT or CES with 95% confidence intervals for a CSV file "
        "(comma or semicolon separated, UTF-8). No server or database needed.",
        epilog="Full reference: docs/cli.md",
    )
    parser.add_argument("file", metavar="FILE", help="the CSV file, with a header row")
    parser.add_argument("--score-column", default="score", metavar="COLUMN", help="default score")
    parser.add_argument(
        "--date-column",
        metavar="COLUMN",
        help=f"ISO 8601 dates (default {DEFAULT_DATE_COLUMN}, used when present)",
    )
    parser.add_argument("--period", choices=PERIODS, help="trend by ISO week, month or quarter")
    parser.add_argument(
        "--by",
        action="append",
        default=[],
        metavar="COLUMN",
        help="segment table for this column, each value vs the rest (repeatable)",
    )
    parser.add_argument("--metric", choices=METRICS, default="nps", help="default nps")
    parser.add_argument(
        "--scale", type=int, metavar="N", help="top of the scale (nps 10, csat 5, ces 7)"
    )
    parser.add_argument(
        "--ci-method", choices=CI_METHODS, help="NPS interval (default adjusted-wald)"
    )
    parser.add_argument("--format", choices=FORMATS, default="table", help="default table")
    return parser


def main(argv: list[str]) -> int:
    """Run the command; returns the exit code (2 for bad arguments or input, like argparse)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad arguments, 0 on --help
        return exc.code if isinstance(exc.code, int) else 2
    try:
        analysis = analyze(
            args.file,
            score_column=args.score_column,
            date_column=args.date_column,
            period=cast(Period | None, args.period),
            by=args.by,
            metric=cast(Metric, args.metric),
            scale=args.scale,
            ci_method=cast(metrics.CiMethod | None, args.ci_method),
        )
    except AnalyzeError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    return _write(render(analysis, args.format, args.file))


def _write(text: str) -> int:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`kaiku analyze ... | head`): not our failure; silence the
        # interpreter's own flush at exit, which would raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
