"""Kaiku benchmarks: `python -m bench [NAME ...]` (or `make bench`). Never timed tests.

A benchmark is a function in a module of this package, registered with `@benchmark(...)`.
It gets a Context (a scratch directory, the size mode) and returns the markdown body of its
section; `python -m bench` imports every module here, runs what registered, and writes one
report to bench/results/report.md and stdout. Adding one (dashboard, ingestion, import,
themes, ...) is a new module, no edits elsewhere:

    from bench import Context, benchmark, markdown_table, median_seconds

    @benchmark("themes", "Comment themes, 100k comments", order=40)
    def run(ctx: Context) -> str:
        seconds = median_seconds(lambda: ...)
        return markdown_table(["step", "median s"], [["assign", f"{seconds:.2f}"]])
"""

from __future__ import annotations

import importlib
import pkgutil
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Context:
    workdir: Path  # scratch space, deleted after the run
    quick: bool = False  # small inputs: proves a benchmark still runs, numbers mean little
    # `-o name.key=value` on the command line (`make bench ARGS="-o ingestion.seconds=20"`).
    options: dict[str, str] = field(default_factory=dict)

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def option(self, key: str, default: str) -> str:
        return self.options.get(key, default)


@dataclass(frozen=True)
class Benchmark:
    name: str
    title: str
    run: Callable[[Context], str]
    order: int


REGISTRY: dict[str, Benchmark] = {}


def benchmark(
    name: str, title: str, *, order: int = 100
) -> Callable[[Callable[[Context], str]], Callable[[Context], str]]:
    """Register a benchmark; `order` sorts sections in the report (analyze is 10)."""

    def register(run: Callable[[Context], str]) -> Callable[[Context], str]:
        if name in REGISTRY and REGISTRY[name].run is not run:
            raise ValueError(f"benchmark {name!r} registered twice")
        REGISTRY[name] = Benchmark(name, title, run, order)
        return run

    return register


def discover() -> list[Benchmark]:
    """Import every public module of this package so that its benchmarks register."""
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    return sorted(REGISTRY.values(), key=lambda b: (b.order, b.name))


def median_seconds(fn: Callable[[], object], repeat: int = 3) -> float:
    """Median wall time of `repeat` calls: one slow outlier (GC, page cache) does not count."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
