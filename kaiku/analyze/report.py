"""Render an Analysis as JSON, a terminal table or CSV (formats documented in docs/cli.md)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from kaiku.analyze.summary import P_PLACES, Analysis

FORMATS = ("table", "json", "csv")
DASH = "—"


def render(analysis: Analysis, fmt: str, source: str) -> str:
    if fmt == "json":
        return render_json(analysis)
    if fmt == "csv":
        return render_csv(analysis)
    return render_table(analysis, source)


# A list of numbers/nulls that json.dumps spread over lines. Raw newlines and quotes never occur
# inside a JSON string, so this cannot touch a segment value that happens to contain brackets.
_SPREAD_NUMBERS = re.compile(r'\[\n\s+([^\[\]{}"]*?)\n\s*\]')


def render_json(analysis: Analysis) -> str:
    # allow_nan=False: the figures are already rounded numbers or null; NaN would be a bug.
    text = json.dumps(analysis.result, indent=2, ensure_ascii=False, allow_nan=False)
    # Intervals on one line ("ci95": [-26.7, 71.2]): the output is read by people too.
    return _SPREAD_NUMBERS.sub(lambda m: "[" + re.sub(r",\s+", ", ", m[1]) + "]", text) + "\n"


# --- CSV ---------------------------------------------------------------------------------------

_TEST_FIELDS = ("delta", "p_value", "q_value", "significant")


def render_csv(analysis: Analysis) -> str:
    """One row per figure group: section, key, value, the STATS fields, then the test fields."""
    result = analysis.result
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "key", "value", *_flat_header(result["overall"]), *_TEST_FIELDS])
    writer.writerow(["overall", "", "", *_flat(result["overall"]), "", "", "", ""])
    for row in result["periods"]:
        writer.writerow(
            ["period", analysis.period, row["period"], *_flat(row), *_test(row["change"])]
        )
    for column, rows in result["segments"].items():
        for row in rows:
            writer.writerow(["segment", column, row["value"], *_flat(row), *_test(row["vs_rest"])])
    for reason, count in result["skipped"]["reasons"].items():
        writer.writerow(["skipped", reason, count])
    return out.getvalue()


def _stat_keys(stats: dict[str, Any]) -> list[str]:
    return [k for k in stats if k not in ("period", "value", "change", "vs_rest")]


def _flat_header(stats: dict[str, Any]) -> list[str]:
    header: list[str] = []
    for key in _stat_keys(stats):
        header += [f"{key}_lo", f"{key}_hi"] if _is_interval(key) else [key]
    return header


def _flat(stats: dict[str, Any]) -> list[str]:
    cells: list[str] = []
    for key in _stat_keys(stats):
        value = stats[key]
        if _is_interval(key):
            cells += [_cell(v) for v in (value or (None, None))]
        else:
            cells.append(_cell(value))
    return cells


def _is_interval(key: str) -> bool:
    return key.endswith("ci95")  # ci95, mean_ci95, agree_ci95: [lo, hi] or null


def _test(test: dict[str, Any] | None) -> list[str]:
    return [_cell((test or {}).get(field)) for field in _TEST_FIELDS]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- Table -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """Which figures of a metric's STATS the table shows, and to how many decimals."""

    name: str
    headline: str
    ci: str
    moe: str | None  # None: half the CI width (the CES mean's t-interval is symmetric)
    extras: tuple[tuple[str, str, int], ...]  # (column header, STATS key, decimals)
    places: int = 1  # of the headline figure, its margin, interval and differences
    shows_band: bool = False


_PCT = 1
_MEAN = 2  # kaiku.metrics rounds means to 2 decimals: one would hide real movement
_LAYOUTS = {
    "nps": _Layout(
        "NPS",
        "nps",
        "ci95",
        "moe",
        (
            ("prom%", "promoters_pct", _PCT),
            ("pass%", "passives_pct", _PCT),
            ("detr%", "detractors_pct", _PCT),
        ),
        shows_band=True,
    ),
    "csat": _Layout("CSAT", "csat", "ci95", "moe", (("mean", "mean", _MEAN),)),
    "ces": _Layout(
        "CES mean",
        "mean",
        "mean_ci95",
        None,
        (("agree%", "agree_pct", _PCT), ("agree 95% CI", "agree_ci95", _PCT)),
        places=_MEAN,
    ),
}
LOW_BASE_NOTE = "low base: n < 30 or margin of error > 20 points; read with care"


def render_table(analysis: Analysis, source: str) -> str:
    result = analysis.result
    layout = _LAYOUTS[result["metric"]]
    lines = [
        f"kaiku analyze {source}",
        f"{layout.name}, 95% CI {result['ci_method']}; {_rows_line(analysis)}",
        "",
        "Overall",
        f"  {_headline(layout, result['overall'])}",
    ]
    if result["periods"]:
        lines += ["", f"Periods by {analysis.period} (change vs the previous period, p < 0.05)"]
        lines += _grid_lines(layout, "period", result["periods"], "change", with_q=False)
    for column, rows in result["segments"].items():
        lines += ["", f"Segments by {column} (vs all other values; significant: BH q < 0.05)"]
        lines += _grid_lines(layout, "value", rows, "vs_rest", with_q=True) if rows else []
        if hidden := analysis.hidden.get(column):
            lines.append(f"  {hidden} value(s) with n < 5 hidden for privacy")
        elif not rows:
            lines.append("  no values (every cell blank, or only on skipped rows)")
    if _any_low_base(result):
        lines += ["", f"! {LOW_BASE_NOTE}"]
    return "\n".join(lines) + "\n"


def _rows_line(analysis: Analysis) -> str:
    skipped = analysis.result["skipped"]
    used = analysis.rows - skipped["count"]
    line = f"{analysis.rows:,} rows, {used:,} used, {skipped['count']:,} skipped"
    if reasons := skipped["reasons"]:
        line += " (" + ", ".join(f"{r} {c:,}" for r, c in reasons.items()) + ")"
    return line


def _headline(layout: _Layout, stats: dict[str, Any]) -> str:
    """E.g. "NPS 32.1 ± 4.2 (n=1,204, good), 95% CI [27.8, 36.2]"."""
    if not stats["n"]:
        return f"{layout.name}: no answers (n=0)"
    notes = [f"n={stats['n']:,}"]
    if layout.shows_band and stats.get("band"):
        notes.append(stats["band"])
    if stats.get("low_base"):
        notes.append("low base")
    places = layout.places
    figure = f"{_num(stats[layout.headline], places)} ± {_num(_moe(layout, stats), places)}"
    interval = _interval(stats[layout.ci], places)
    return f"{layout.name} {figure} ({', '.join(notes)}), 95% CI {interval}"


def _grid_lines(
    layout: _Layout, label: str, rows: list[dict[str, Any]], test_key: str, *, with_q: bool
) -> list[str]:
    headers = [label, "n", layout.name, "± moe", "95% CI", *(h for h, _, _ in layout.extras)]
    headers += ["band"] if layout.shows_band else []
    headers += ["Δ", "p", "q", "sig", ""] if with_q else ["Δ", "p", "sig", ""]
    body = [_grid_row(layout, row, label, test_key, with_q=with_q) for row in rows]
    left = {0, len(headers) - 1} | ({headers.index("band")} if layout.shows_band else set())
    return ["  " + line for line in _align([headers, *body], left)]


def _grid_row(
    layout: _Layout, row: dict[str, Any], label: str, test_key: str, *, with_q: bool
) -> list[str]:
    places = layout.places
    cells = [_printable(str(row[label])), f"{row['n']:,}", _num(row[layout.headline], places)]
    cells += [_num(_moe(layout, row), places), _interval(row[layout.ci], places)]
    cells += [_value(row[key], decimals) for _, key, decimals in layout.extras]
    cells += [row.get("band") or DASH] if layout.shows_band else []
    test = row[test_key] or {}
    cells += [_num(test.get("delta"), places), _num(test.get("p_value"), P_PLACES)]
    cells += [_num(test.get("q_value"), P_PLACES)] if with_q else []
    cells += ["*" if test.get("significant") else "", "! low base" if row["low_base"] else ""]
    return cells


def _align(table: Sequence[Sequence[str]], left: set[int]) -> Iterable[str]:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        cells = [
            c.ljust(w) if i in left else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        yield "  ".join(cells).rstrip()


def _printable(text: str) -> str:
    # A value with a newline or tab (quoted CSV cells may hold them) would break the grid.
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def _moe(layout: _Layout, stats: dict[str, Any]) -> float | None:
    if layout.moe is not None:
        return stats[layout.moe]
    ci = stats[layout.ci]
    if ci is None:
        return None
    # Decimal: half of [3.64, 4.09] is 0.225 -> 0.23, where float arithmetic gives 0.2249999.
    half = (Decimal(str(ci[1])) - Decimal(str(ci[0]))) / 2
    return float(half.quantize(Decimal(1).scaleb(-layout.places), rounding=ROUND_HALF_UP))


def _any_low_base(result: dict[str, Any]) -> bool:
    rows = [result["overall"], *result["periods"]]
    rows += [row for values in result["segments"].values() for row in values]
    return any(row["low_base"] for row in rows)


def _value(value: Any, places: int) -> str:
    if isinstance(value, list | tuple):
        return _interval(value, places)
    return _num(value, places)


def _interval(ci: Sequence[float] | None, places: int) -> str:
    return DASH if ci is None else f"[{_num(ci[0], places)}, {_num(ci[1], places)}]"


def _num(value: float | None, places: int) -> str:
    # Values arrive rounded half-up by kaiku.metrics; this only pads to a fixed width.
    return DASH if value is None else f"{value:.{places}f}"
