"""kaiku.analyze.reader: CSV text to histograms, without the statistics."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kaiku.analyze import AnalyzeError
from kaiku.analyze.reader import ReadSpec, period_label, read_histograms, sniff_delimiter


def write(tmp_path: Path, text: str, name: str = "a.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


@pytest.mark.parametrize(
    ("day", "period", "label"),
    [
        (date(2026, 1, 1), "week", "2026-W01"),
        (date(2027, 1, 1), "week", "2026-W53"),
        (date(2025, 12, 29), "week", "2026-W01"),
        (date(2026, 2, 26), "week", "2026-W09"),
        (date(2026, 3, 31), "month", "2026-03"),
        (date(2026, 3, 31), "quarter", "2026-Q1"),
        (date(2026, 4, 1), "quarter", "2026-Q2"),
        (date(2026, 12, 31), "quarter", "2026-Q4"),
    ],
)
def test_period_labels_are_iso(day: date, period: str, label: str) -> None:
    assert period_label(day, period) == label  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [
        ("score,plan\r\n", ","),
        ("score;plan\n", ";"),
        ("score\n", ","),
        ('"a;b",score,plan\n', ","),  # a quoted name may hold the other delimiter
        ('"a,b";score;plan\n', ";"),
    ],
)
def test_the_delimiter_is_sniffed_from_the_header(header: str, delimiter: str) -> None:
    assert sniff_delimiter(header) == delimiter


def test_scores_accept_padding_and_integral_floats(tmp_path: Path) -> None:
    text = "score\n10\n 9 \n7.0\n+8\n8.00\n-0\n1e1\n7.5\nnan\ninf\n1_0\n\u0667\n11\n-1\n"
    hists = read_histograms(write(tmp_path, text), ReadSpec())
    assert hists.overall.tolist() == [1, 0, 0, 0, 0, 0, 0, 1, 2, 1, 1]
    assert hists.skipped == {"invalid_score": 6, "out_of_scale": 2}


def test_csat_scale_starts_at_1(tmp_path: Path) -> None:
    hists = read_histograms(
        write(tmp_path, "score\n0\n1\n5\n6\n"), ReadSpec(scale_min=1, scale_max=5)
    )
    assert hists.overall.tolist() == [0, 1, 0, 0, 0, 1]
    assert hists.skipped == {"out_of_scale": 2}


def test_quoted_fields_short_rows_and_blank_lines(tmp_path: Path) -> None:
    text = 'plan,comment,score\r\n"pro, annual","said ""hi""\nthen left",9\r\n\r\nfree\r\n'
    hists = read_histograms(write(tmp_path, text), ReadSpec(by=("plan",)))
    assert hists.rows == 2  # the blank line is not a row
    assert hists.skipped == {"missing_score": 1}  # "free" has no score cell at all
    assert list(hists.segments["plan"]) == ["pro, annual"]  # "free" only on a skipped row


def test_segment_values_are_stripped_and_blank_cells_left_out(tmp_path: Path) -> None:
    text = "plan,score\npro,9\n pro ,10\n,8\n   ,7\nfree,0\n"
    hists = read_histograms(write(tmp_path, text), ReadSpec(by=("plan",)))
    plan = {value: counts.sum() for value, counts in hists.segments["plan"].items()}
    assert plan == {"pro": 2, "free": 1}
    assert hists.overall.sum() == 5


def test_first_of_duplicate_header_names_is_used(tmp_path: Path) -> None:
    hists = read_histograms(write(tmp_path, "score,score\n9,1\n"), ReadSpec())
    assert hists.overall.tolist()[9] == 1


def test_dates_in_any_iso_form_python_reads(tmp_path: Path) -> None:
    cells = ["2026-03-01", "20260302", "2026-W10-1", "2026-03-04T05:06:07.89+03:00", "2026-03"]
    text = "created_at,score\n" + "".join(f"{c},9\n" for c in cells)
    hists = read_histograms(write(tmp_path, text), ReadSpec(period="month"))
    assert {k: v.sum() for k, v in hists.periods.items()} == {"2026-03": 4}
    assert hists.skipped == {"invalid_date": 1}  # a bare month is not a date


def test_a_score_problem_is_counted_before_a_date_problem(tmp_path: Path) -> None:
    hists = read_histograms(write(tmp_path, "created_at,score\nnever,\n"), ReadSpec())
    assert hists.skipped == {"missing_score": 1}


def test_not_utf8_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("plan,score\nkäyttäjä,9\n".encode("latin-1"))
    with pytest.raises(AnalyzeError, match="not UTF-8"):
        read_histograms(path, ReadSpec())


def test_broken_csv_names_the_line(tmp_path: Path) -> None:
    huge = "x" * 200_000  # over csv.field_size_limit()
    path = write(tmp_path, f'plan,score\npro,9\n"{huge}",9\n')
    with pytest.raises(AnalyzeError, match="line 3"):
        read_histograms(path, ReadSpec())


def test_a_named_date_column_must_exist_even_without_a_period(tmp_path: Path) -> None:
    spec = ReadSpec(date_column="sent_at", date_column_required=True)
    with pytest.raises(AnalyzeError, match="no date column 'sent_at'"):
        read_histograms(write(tmp_path, "score\n9\n"), spec)


def test_a_period_seen_only_on_skipped_rows_is_not_listed(tmp_path: Path) -> None:
    text = "created_at,score\n2026-01-05,9\n2026-02-05,\n2026-03-05,7\n"
    hists = read_histograms(write(tmp_path, text), ReadSpec(period="month"))
    assert list(hists.periods) == ["2026-01", "2026-03"]


def test_a_blank_first_line_is_not_a_header(tmp_path: Path) -> None:
    with pytest.raises(AnalyzeError, match="first line is blank"):
        read_histograms(write(tmp_path, "\nscore\n9\n"), ReadSpec())
