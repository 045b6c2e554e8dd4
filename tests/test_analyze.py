"""`kaiku analyze`: the command end to end, through main() as the console script calls it.

No database: these are plain functions (no `db` fixture), and one test runs the real command
in a fresh process with no Kaiku or Django settings at all.
"""

from __future__ import annotations

import csv
import gc
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from kaiku import metrics
from kaiku.analyze.cli import main

DATA = Path(__file__).parent / "data" / "analyze"
BASIC = DATA / "basic.csv"  # 3 promoters, 2 passives, 1 detractor over Jan-Mar 2026
STATS_KEYS = [
    "n",
    "promoters",
    "passives",
    "detractors",
    "promoters_pct",
    "passives_pct",
    "detractors_pct",
    "nps",
    "se",
    "ci95",
    "moe",
    "band",
    "low_base",
]


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str | Path) -> dict[str, Any]:
    code, out, err = run(capsys, *args, "--format", "json")
    assert (code, err) == (0, ""), err
    return json.loads(out)


def write_csv(
    path: Path, header: Sequence[str], rows: Iterable[Sequence[object]], delimiter: str = ","
) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def scores(promoters: int, passives: int, detractors: int) -> list[int]:
    return [10] * promoters + [8] * passives + [3] * detractors


def counts(promoters: int, passives: int, detractors: int) -> metrics.NpsCounts:
    return metrics.NpsCounts(promoters=promoters, passives=passives, detractors=detractors)


def test_it_reports_the_published_interval_for_3_2_1(capsys: pytest.CaptureFixture[str]) -> None:
    overall = run_json(capsys, BASIC)["overall"]
    assert overall["ci95"] == [-26.7, 71.2]  # Rocks (2016) check value [-26.7433, 71.1877]
    assert (overall["n"], overall["nps"], overall["band"]) == (6, 33.3, "good")
    assert overall["low_base"] is True


def test_it_reproduces_the_seed_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "seed.csv", ["score"], ([s] for s in scores(70, 15, 15)))
    overall = run_json(capsys, path)["overall"]
    assert (overall["nps"], overall["band"], overall["n"]) == (55.0, "excellent", 100)
    assert (overall["promoters"], overall["passives"], overall["detractors"]) == (70, 15, 15)


def test_json_has_exactly_the_documented_shape(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(capsys, BASIC, "--period", "month", "--by", "plan", "--by", "country")
    assert list(result) == ["metric", "ci_method", "skipped", "overall", "periods", "segments"]
    assert result["metric"] == "nps"
    assert result["ci_method"] == "adjusted-wald"
    assert result["skipped"] == {"count": 0, "reasons": {}}
    assert list(result["overall"]) == STATS_KEYS
    first, second = result["periods"][:2]
    assert list(first) == ["period", *STATS_KEYS, "change"]
    assert first["change"] is None
    assert list(second["change"]) == ["delta", "p_value", "significant"]
    assert list(result["segments"]) == ["plan", "country"]


def test_without_period_or_by_periods_and_segments_are_empty(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = run_json(capsys, BASIC)
    assert (result["periods"], result["segments"]) == ([], {})


def test_periods_change_is_compare_nps_against_the_previous_period(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jan, feb = scores(20, 0, 10), scores(12, 0, 18)
    rows = [("2026-01-15", s) for s in jan] + [("2026-02-15", s) for s in feb]
    path = write_csv(tmp_path / "a.csv", ["created_at", "score"], rows)
    periods = run_json(capsys, path, "--period", "month")["periods"]
    assert [p["period"] for p in periods] == ["2026-01", "2026-02"]
    assert [p["n"] for p in periods] == [30, 30]
    expected = metrics.compare_nps(counts(12, 0, 18), counts(20, 0, 10))
    assert periods[1]["change"] == {
        "delta": -53.3,  # raw NPS difference: -20.0 - 33.3
        "p_value": metrics.round_half_up(expected.p_value, 4),
        "significant": expected.p_value < 0.05,
    }


def test_week_labels_use_the_iso_week_year(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    days = ["2027-01-01", "2026-01-01", "2025-12-29", "2026-03-02", "2026-12-31"]
    path = write_csv(tmp_path / "w.csv", ["created_at", "score"], [(d, 9) for d in days])
    periods = run_json(capsys, path, "--period", "week")["periods"]
    # 2025-12-29 is the Monday of 2026-W01; 2027-01-01 is a Friday in 2026-W53.
    assert [(p["period"], p["n"]) for p in periods] == [
        ("2026-W01", 2),
        ("2026-W10", 1),
        ("2026-W53", 2),
    ]


def test_month_and_quarter_labels_sort_chronologically(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    days = ["2026-11-05", "2025-12-31T23:59:59", "2026-01-01", "2026-04-30", "2026-03-31"]
    path = write_csv(tmp_path / "q.csv", ["created_at", "score"], [(d, 9) for d in days])
    months = run_json(capsys, path, "--period", "month")["periods"]
    assert [p["period"] for p in months] == ["2025-12", "2026-01", "2026-03", "2026-04", "2026-11"]
    quarters = run_json(capsys, path, "--period", "quarter")["periods"]
    assert [(p["period"], p["n"]) for p in quarters] == [
        ("2025-Q4", 1),
        ("2026-Q1", 2),
        ("2026-Q2", 1),
        ("2026-Q4", 1),
    ]


def test_datetimes_are_bucketed_by_their_local_date_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 23:30 at UTC-5 is already 1 February in UTC; the row counts in January as written.
    days = ["2026-01-31T23:30:00-05:00", "2026-02-01T00:10:00+02:00", "2026-01-31T12:00:00Z"]
    path = write_csv(tmp_path / "tz.csv", ["created_at", "score"], [(d, 9) for d in days])
    periods = run_json(capsys, path, "--period", "month")["periods"]
    assert [(p["period"], p["n"]) for p in periods] == [("2026-01", 2), ("2026-02", 1)]


def segment_file(tmp_path: Path) -> Path:
    groups = {
        "free": (5, 5, 10),
        "pro": (20, 5, 5),
        "team": (5, 3, 2),
        "tiny": (3, 0, 0),
        "": (0, 4, 0),
    }
    rows = [(plan, s) for plan, c in groups.items() for s in scores(*c)]
    return write_csv(tmp_path / "seg.csv", ["plan", "score"], rows)


def test_segments_compare_each_value_with_the_rest_and_adjust_with_bh(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    values = run_json(capsys, segment_file(tmp_path), "--by", "plan")["segments"]["plan"]
    # Largest first; "tiny" (n=3) is hidden; blank cells are not a value.
    assert [(v["value"], v["n"]) for v in values] == [("pro", 30), ("free", 20), ("team", 10)]
    assert list(values[0]) == ["value", *STATS_KEYS, "vs_rest"]
    assert list(values[0]["vs_rest"]) == ["delta", "p_value", "q_value", "significant"]
    # The rest of each value holds every other non-blank row, hidden "tiny" included.
    column = {"pro": counts(20, 5, 5), "free": counts(5, 5, 10), "team": counts(5, 3, 2)}
    tiny = counts(3, 0, 0)
    rests = [sum((c for o, c in column.items() if o != v), start=tiny) for v in column]
    tests = [metrics.compare_nps(column[v["value"]], r) for v, r in zip(values, rests, strict=True)]
    q_values = metrics.benjamini_hochberg([t.p_value for t in tests])
    for value, test, q in zip(values, tests, q_values, strict=True):
        assert value["vs_rest"] == {
            "delta": metrics.round_half_up(test.delta, 1),
            "p_value": metrics.round_half_up(test.p_value, 4),
            "q_value": metrics.round_half_up(q, 4),
            "significant": q < 0.05,
        }
    # free: NPS -25.0; its rest is pro + team + tiny = 28/8/7, NPS 48.8.
    assert values[1]["vs_rest"]["delta"] == -73.8


def test_a_single_segment_value_has_no_rest_to_compare_with(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "one.csv", ["plan", "score"], [("pro", 9)] * 8)
    values = run_json(capsys, path, "--by", "plan")["segments"]["plan"]
    assert [(v["value"], v["vs_rest"]) for v in values] == [("pro", None)]


def test_semicolons_and_a_bom_read_like_commas(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--period", "month", "--by", "plan")
    semicolon = run_json(capsys, DATA / "semicolon_bom.csv", *args)
    assert semicolon == run_json(capsys, BASIC, *args)
    assert semicolon["overall"]["ci95"] == [-26.7, 71.2]


def test_it_skips_bad_rows_and_counts_why(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, DATA / "messy.csv", "--format", "json")
    result = json.loads(out)
    assert code == 0
    assert result["skipped"] == {
        "count": 9,
        "reasons": {
            "missing_score": 2,  # "" and "   "
            "invalid_score": 2,  # "great", "7.5"
            "out_of_scale": 2,  # 11, -1
            "missing_date": 1,
            "invalid_date": 2,  # "yesterday", 2026-02-30
        },
    }
    # " 7 " and "9.0" count; so does the short last row; the blank line is not a row.
    overall = result["overall"]
    assert (overall["n"], overall["promoters"], overall["passives"]) == (5, 2, 2)


def test_without_a_date_column_no_dates_are_needed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "s.csv", ["when", "score"], [("not a date", 9), ("", 10)])
    result = run_json(capsys, path)
    assert (result["overall"]["n"], result["skipped"]["count"]) == (2, 0)
    # Named with --date-column, the same column is checked.
    result = run_json(capsys, path, "--date-column", "when")
    assert result["skipped"]["reasons"] == {"invalid_date": 1, "missing_date": 1}


def test_custom_score_and_date_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "c.csv", [" answered ", "nps "], [("2026-05-01", 9)])
    result = run_json(
        capsys, path, "--score-column", "nps", "--date-column", "answered", "--period", "month"
    )
    assert [(p["period"], p["n"]) for p in result["periods"]] == [("2026-05", 1)]


def test_rows_split_over_many_chunks_count_the_same(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = (DATA / "messy.csv", "--period", "week", "--by", "plan", "--by", "comment")
    whole = run_json(capsys, *args)
    monkeypatch.setattr("kaiku.analyze.reader.CHUNK_ROWS", 3)  # new values appear per chunk
    assert run_json(capsys, *args) == whole


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv"], "missing.csv: no such file"),
        ([BASIC, "--score-column", "nps"], "no score column 'nps'"),
        ([BASIC, "--period", "month", "--date-column", "sent"], "no date column 'sent'"),
        ([BASIC, "--by", "region"], "no --by column 'region'"),
        ([DATA / "empty.csv"], "empty file (no header row)"),
        ([DATA / "header_only.csv"], "no data rows"),
        ([BASIC, "--scale", "5"], "NPS is always answered on 0-10"),
        ([BASIC, "--metric", "csat", "--scale", "2"], "scale 1-2 is not supported"),
        ([BASIC, "--metric", "csat", "--ci-method", "wald"], "--ci-method applies to NPS only"),
        ([DATA], "is a directory"),
    ],
)
def test_input_errors_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str | Path], message: str
) -> None:
    code, out, err = run(capsys, *args)
    assert (code, out) == (2, "")
    assert err.startswith("kaiku analyze: error: ")
    assert message in err
    assert err.count("\n") == 1


def test_a_missing_period_date_column_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv(tmp_path / "nodate.csv", ["score"], [[9]])
    code, _, err = run(capsys, path, "--period", "week")
    assert code == 2
    assert "no date column 'created_at'" in err


@pytest.mark.parametrize(
    "args",
    [["--period", "year"], ["--metric", "ces", "--scale", "x"], ["--ci-method", "exact"], []],
)
def test_bad_arguments_exit_2_like_argparse(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    argv: list[str | Path] = [BASIC, *args] if args else []
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "kaiku analyze: error:" in err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "usage: kaiku analyze" in out


@pytest.mark.parametrize("method", ["adjusted-wald", "wald", "tango", "bayes"])
def test_ci_methods_come_from_kaiku_metrics(
    capsys: pytest.CaptureFixture[str], method: str
) -> None:
    result = run_json(capsys, BASIC, "--ci-method", method)
    expected = metrics.nps_stats(counts(3, 2, 1), method=method).to_dict()  # type: ignore[arg-type]
    assert result["ci_method"] == method
    assert result["overall"] == expected


def test_methods_give_different_intervals(capsys: pytest.CaptureFixture[str]) -> None:
    intervals = {
        method: run_json(capsys, BASIC, "--ci-method", method)["overall"]["ci95"]
        for method in ("adjusted-wald", "wald", "tango", "bayes")
    }
    assert len({tuple(ci) for ci in intervals.values()}) == 4


def csat_file(tmp_path: Path, top: int = 5) -> Path:
    rows = [("2026-01-10", "pro", s) for s in [top] * 12 + [top - 1] * 8 + [2] * 6 + [1] * 4]
    rows += [("2026-02-10", "free", s) for s in [top] * 4 + [3] * 10 + [1] * 6]
    rows += [("2026-02-11", "free", 0), ("2026-02-11", "free", top + 1)]  # out of scale
    return write_csv(tmp_path / "csat.csv", ["created_at", "plan", "score"], rows)


def test_csat_uses_csat_stats_and_wilson(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_json(capsys, csat_file(tmp_path), "--metric", "csat", "--period", "month")
    assert (result["metric"], result["ci_method"]) == ("csat", "wilson")
    assert result["skipped"]["reasons"] == {"out_of_scale": 2}
    hist = {5: 16, 4: 8, 3: 10, 2: 6, 1: 10}
    assert result["overall"] == metrics.csat_stats(hist, 1, 5).to_dict()
    assert result["overall"]["csat"] == 48.0  # 24 of 50 in the top-2 box
    jan, feb = result["periods"]
    expected = metrics.compare_stats(
        "csat", {1: 6, 2: 0, 3: 10, 4: 0, 5: 4}, {1: 4, 2: 6, 3: 0, 4: 8, 5: 12}, 1, 5
    )
    assert feb["change"]["delta"] == metrics.round_half_up(expected.delta, 1)
    assert feb["change"]["p_value"] == metrics.round_half_up(expected.p_value, 4)
    assert jan["change"] is None


def test_csat_on_another_scale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(capsys, csat_file(tmp_path, top=10), "--metric", "csat", "--scale", "10")
    hist = {10: 16, 9: 8, 3: 10, 2: 6, 1: 10}
    assert result["overall"] == metrics.csat_stats(hist, 1, 10).to_dict()


def test_ces_uses_ces_stats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [("pro", s) for s in [7] * 10 + [6] * 10 + [5] * 5 + [4] * 5 + [2] * 5]
    rows += [("free", s) for s in [7] * 2 + [4] * 8 + [1] * 5] + [("free", 8)]
    path = write_csv(tmp_path / "ces.csv", ["plan", "score"], rows)
    result = run_json(capsys, path, "--metric", "ces", "--by", "plan")
    assert (result["metric"], result["ci_method"]) == ("ces", "t/wilson")
    assert result["skipped"]["reasons"] == {"out_of_scale": 1}
    hist = {7: 12, 6: 10, 5: 5, 4: 13, 3: 0, 2: 5, 1: 5}
    assert result["overall"] == metrics.ces_stats(hist, 1, 7).to_dict()
    pro, free = result["segments"]["plan"]
    assert (pro["value"], pro["n"], free["value"], free["n"]) == ("pro", 35, "free", 15)
    assert pro["vs_rest"]["q_value"] == free["vs_rest"]["q_value"]  # two tests of one split


def test_table_is_readable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, segment_file(tmp_path), "--by", "plan")
    assert code == 0
    lines = out.splitlines()
    assert "Overall" in lines
    assert any(line.startswith("Segments by plan") for line in lines)
    # The 4 blank-plan rows count overall; only the segment tables leave them out.
    assert "  NPS 23.9 ± 19.4 (n=67, acceptable), 95% CI [3.5, 42.2]" in lines
    header = next(line for line in lines if line.lstrip().startswith("value"))
    pro = next(line for line in lines if line.lstrip().startswith("pro "))
    # Aligned: figures end where their header ends.
    assert pro.index("30") == header.index(" n ")
    assert pro.index("50.0") + 4 == header.index("NPS") + 3
    assert "1 value(s) with n < 5 hidden for privacy" in out
    assert "! low base" in out


def test_table_shows_periods_and_the_low_base_note(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, BASIC, "--period", "quarter", "--format", "table")
    assert code == 0
    assert "Periods by quarter" in out
    assert "  NPS 33.3 ± 49.0 (n=6, good, low base), 95% CI [-26.7, 71.2]" in out
    assert "2026-Q1" in out
    assert out.rstrip().endswith("read with care")


def test_table_for_csat_and_ces(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, csat_file(tmp_path), "--metric", "csat")
    assert code == 0
    assert "  CSAT 48.0 ± " in out
    code, out, _ = run(capsys, csat_file(tmp_path), "--metric", "ces", "--by", "plan")
    assert code == 0
    assert "  CES mean " in out
    assert "agree%" in out


def test_csv_has_one_row_per_figure_group(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, DATA / "messy.csv", "--period", "month", "--format", "csv")
    assert code == 0
    rows = list(csv.reader(out.splitlines()))
    assert rows[0] == [
        "section",
        "key",
        "value",
        *STATS_KEYS[:9],
        "ci95_lo",
        "ci95_hi",
        *STATS_KEYS[10:],
        "delta",
        "p_value",
        "q_value",
        "significant",
    ]
    table = [dict(zip(rows[0], row, strict=False)) for row in rows[1:]]
    assert [(r["section"], r["key"], r["value"]) for r in table] == [
        ("overall", "", ""),
        ("period", "month", "2026-01"),
        ("skipped", "missing_score", "2"),
        ("skipped", "invalid_score", "2"),
        ("skipped", "out_of_scale", "2"),
        ("skipped", "missing_date", "1"),
        ("skipped", "invalid_date", "2"),
    ]
    assert (table[0]["n"], table[0]["low_base"], table[0]["delta"]) == ("5", "true", "")


def test_csv_segments_carry_their_test(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, segment_file(tmp_path), "--by", "plan", "--format", "csv")
    assert code == 0
    table = list(csv.DictReader(out.splitlines()))
    pro = next(r for r in table if r["value"] == "pro")
    assert (pro["section"], pro["key"], pro["n"]) == ("segment", "plan", "30")
    assert pro["q_value"]
    assert pro["significant"] in ("true", "false")


def test_the_console_script_runs_without_django_settings(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAIKU", "DJANGO", "PYTEST"))}
    # A settings module that cannot import: the command must not even try to load it.
    env["DJANGO_SETTINGS_MODULE"] = "no.such.settings"
    code = (
        "import sys; from kaiku.__main__ import main\n"
        "try:\n    main(['kaiku', *sys.argv[1:]])\n"
        "except SystemExit as exc:\n"
        "    assert 'django' not in sys.modules, 'kaiku analyze imported Django'\n"
        "    raise\n"
    )
    args = [str(BASIC), "--period", "month", "--format", "json"]
    done = subprocess.run(
        [sys.executable, "-c", code, "analyze", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # no var/ or database next to it
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout)["overall"]["ci95"] == [-26.7, 71.2]
    script = Path(sys.executable).with_name("kaiku")
    if script.exists():
        done = subprocess.run(
            [str(script), "analyze", *args], capture_output=True, text=True, env=env, check=False
        )
        assert (done.returncode, done.stderr) == (0, "")
        assert json.loads(done.stdout)["overall"]["n"] == 6


def test_the_garbage_collector_is_back_on_after_a_read(capsys: pytest.CaptureFixture[str]) -> None:
    # The reader pauses it for speed; an error half-way must not leave it off for the caller.
    run(capsys, DATA / "messy.csv")
    assert gc.isenabled()
    run(capsys, DATA / "header_only.csv")
    assert gc.isenabled()


def test_ces_change_needs_two_answers_a_side(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [("2026-01-05", 5), ("2026-02-05", 6), ("2026-02-06", 7), ("2026-03-05", 2)]
    path = write_csv(tmp_path / "ces.csv", ["created_at", "score"], rows)
    periods = run_json(capsys, path, "--metric", "ces", "--period", "month")["periods"]
    # January has one answer (no SD) and so has March: no t-test either side of February.
    assert [p["change"] for p in periods] == [None, None, None]


def test_json_keeps_intervals_on_one_line_without_touching_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tricky = "a [\n 1, 2\n]"  # a quoted cell that looks like a spread-out list
    path = write_csv(tmp_path / "t.csv", ["plan", "score"], [(tricky, 9)] * 5)
    code, out, _ = run(capsys, path, "--by", "plan", "--format", "json")
    assert code == 0
    assert '"ci95": [17.5, 100.0],' in out
    assert json.loads(out)["segments"]["plan"][0]["value"] == tricky
    code, out, _ = run(capsys, path, "--by", "plan")
    assert "  a [\\n 1, 2\\n]  5  100.0" in out  # escaped, so the grid stays one line per value


def test_csat_fixture_by_team_with_custom_columns(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(
        capsys,
        DATA / "csat.csv",
        *("--metric", "csat", "--score-column", "rating", "--date-column", "answered_on"),
        *("--period", "month", "--by", "team"),
    )
    assert [p["period"] for p in result["periods"]] == ["2026-01", "2026-02"]
    teams = [(t["value"], t["n"], t["vs_rest"]["significant"]) for t in result["segments"]["team"]]
    assert teams == [("support", 60, True), ("billing", 40, True), ("onboarding", 18, False)]
    assert result["overall"]["csat"] == 70.3  # 83 of 118 answered 4 or 5
