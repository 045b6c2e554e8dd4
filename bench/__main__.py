"""Run the benchmarks and write bench/results/report.md (also printed).

python -m bench                # every registered benchmark, full size
python -m bench analyze        # only these
python -m bench --quick        # small inputs: a smoke run, not numbers to quote
python -m bench ingestion -o ingestion.seconds=20   # a benchmark's own setting
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench import Benchmark, Context, discover

RESULTS = Path(__file__).resolve().parent / "results" / "report.md"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    benchmarks = discover()
    unknown = set(args.names) - {b.name for b in benchmarks}
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    chosen = [b for b in benchmarks if not args.names or b.name in args.names]
    sections, failed = [], 0
    for bench in chosen:
        section, ok = _run_one(bench, args.quick, _options(args.option))
        sections.append(section)
        failed += not ok
    report = "\n\n".join([_header(args.quick), *sections]) + "\n"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report, encoding="utf-8")
    print(report, end="")
    print(f"(written to {args.output})", file=sys.stderr)
    return 1 if failed else 0


def _parser() -> argparse.ArgumentParser:
    summary = (__doc__ or "").strip().split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m bench", description=summary)
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default all)")
    parser.add_argument("--quick", action="store_true", help="small inputs, for a smoke run")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"default {RESULTS}")
    parser.add_argument(
        "-o",
        "--option",
        action="append",
        default=[],
        metavar="NAME.KEY=VALUE",
        help="a benchmark's own setting (sizes, engines), repeatable",
    )
    return parser


def _options(pairs: list[str]) -> dict[str, str]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"-o needs NAME.KEY=VALUE, got {pair!r}")
        options[key.strip()] = value.strip()
    return options


def _run_one(bench: Benchmark, quick: bool, options: dict[str, str]) -> tuple[str, bool]:
    """One section; a failing benchmark is reported, and the others still run."""
    print(f"running {bench.name} ...", file=sys.stderr)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"kaiku-bench-{bench.name}-") as workdir:
        try:
            body, ok = bench.run(Context(Path(workdir), quick, options)), True
        except Exception:
            body, ok = "**FAILED**\n\n```\n" + traceback.format_exc() + "```", False
    took = time.perf_counter() - start
    return f"## {bench.title}\n\n{body}\n\n_Section took {took:.1f} s._", ok


def _header(quick: bool) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = (
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"
    )
    # Other work on the machine skews medians; the load average says how much to trust them.
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    mode = " — **quick mode: small inputs, do not quote these numbers**" if quick else ""
    return f"# Kaiku benchmarks\n\n{when} · {machine} · load average {load} at start{mode}"


if __name__ == "__main__":
    raise SystemExit(main())
