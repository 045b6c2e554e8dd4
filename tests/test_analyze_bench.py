"""bench/analyze.py still measures something true: its three approaches count the same.

No timing here (benchmarks are never timed tests); `make bench` does the measuring.
"""

from __future__ import annotations

from pathlib import Path

from bench import Context, discover, markdown_table
from bench.analyze import generate, naive, numpy_reference, run_analyze, validate


def test_the_three_approaches_agree_on_generated_data(tmp_path: Path) -> None:
    path = tmp_path / "answers.csv"
    columns = generate(path, 3_000, seed=1)
    result = run_analyze(path)
    validate(result, numpy_reference(columns), naive(path))  # raises on any difference
    assert result["overall"]["n"] == int((columns.score >= 0).sum())
    assert len(result["periods"]) == 18


def test_the_analyze_benchmark_is_discovered() -> None:
    names = [b.name for b in discover()]
    assert names[0] == "analyze"


def test_context_sizes_and_markdown_tables(tmp_path: Path) -> None:
    assert Context(tmp_path, quick=True).size(1_000_000, 20_000) == 20_000
    assert Context(tmp_path).size(1_000_000, 20_000) == 1_000_000
    assert markdown_table(["a", "b"], [[1, "x"]]) == "| a | b |\n|---|---|\n| 1 | x |"
