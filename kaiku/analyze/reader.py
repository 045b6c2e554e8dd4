"""Stream a CSV file into score histograms: overall, per period and per segment value.

A million-row file must take seconds, so no Python object outlives its chunk and no Python
bytecode runs per row on the happy path: each chunk of rows is split into columns with
`map(itemgetter)`, cell text is turned into small integer codes by dicts that compute a code
only the first time they see a text (`__missing__`), and counts are added with `np.bincount`
on `group_code * width + score`. Per-row Python only runs for chunks holding a bad date.
"""

from __future__ import annotations

import csv
import gc
import io
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from operator import itemgetter, methodcaller
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from kaiku.analyze.errors import AnalyzeError

Period = Literal["week", "month", "quarter"]
PERIODS: tuple[Period, ...] = ("week", "month", "quarter")

# Skip reasons, in the order they are checked: a row is counted under its first problem only.
SKIP_REASONS = ("missing_score", "invalid_score", "out_of_scale", "missing_date", "invalid_date")
_MISSING, _INVALID, _OUT_OF_SCALE = -1, -2, -3  # score codes below zero; dates use -1 and -2
_BLANK = -1  # segment code of an empty cell: not a segment value (see docs/cli.md)

_SCORE = re.compile(r"(?P<whole>[+-]?[0-9]+)(?:\.(?P<fraction>[0-9]*))?")

CHUNK_ROWS = 1 << 16  # big enough to amortise numpy calls, small enough to stay in cache-ish RAM
_DELIMITERS = (",", ";")

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ReadSpec:
    """What to read from the file. Column names are matched after stripping whitespace."""

    score_column: str = "score"
    date_column: str = "created_at"
    date_column_required: bool = False  # True when --period or --date-column was given
    period: Period | None = None
    by: tuple[str, ...] = ()
    scale_min: int = 0
    scale_max: int = 10


@dataclass
class Histograms:
    """Answer counts per score (index = score, 0..scale_max) for every group of answers."""

    overall: IntArray
    periods: dict[str, IntArray]  # period label -> counts, in chronological order
    segments: dict[str, dict[str, IntArray]]  # column -> value -> counts (blank cells excluded)
    skipped: dict[str, int]  # reason -> rows, only reasons that occurred, in SKIP_REASONS order
    rows: int  # data rows read (blank lines are not rows)
    delimiter: str


def period_label(day: date, period: Period) -> str:
    """ISO labels that sort chronologically as text: 2026-W09, 2026-03, 2026-Q1."""
    if period == "week":
        iso = day.isocalendar()  # the ISO year: 2027-01-01 is in 2026-W53
        return f"{iso.year:04d}-W{iso.week:02d}"
    if period == "month":
        return f"{day.year:04d}-{day.month:02d}"
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"


def read_histograms(path: str | Path, spec: ReadSpec) -> Histograms:
    """Read the whole file; raise AnalyzeError for anything the user has to fix."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            return _read_stream(stream, spec, str(path))
    except FileNotFoundError:
        raise AnalyzeError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise AnalyzeError(f"{path}: is a directory, not a CSV file") from None
    except UnicodeDecodeError as exc:
        raise AnalyzeError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise AnalyzeError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _read_stream(stream: io.TextIOBase, spec: ReadSpec, name: str) -> Histograms:
    header_line = stream.readline()
    if not header_line:
        raise AnalyzeError(f"{name}: empty file (no header row)")
    if not header_line.strip():
        raise AnalyzeError(f"{name}: the first line is blank; it must be the header row")
    delimiter = sniff_delimiter(header_line)
    header = [cell.strip() for cell in next(csv.reader([header_line], delimiter=delimiter))]
    columns = _Columns.locate(header, spec, name)
    counter = _Counter(spec, columns)
    reader = csv.reader(stream, delimiter=delimiter)
    try:
        with _gc_paused():
            for rows in _chunks(reader):
                counter.add_chunk(rows)
    except csv.Error as exc:
        raise AnalyzeError(f"{name}, line {reader.line_num + 1}: {exc}") from None
    if counter.rows == 0:
        raise AnalyzeError(f"{name}: no data rows under the header")
    return counter.result(delimiter)


def sniff_delimiter(header_line: str) -> str:
    """Comma or semicolon: whichever splits the header into more fields (comma on a tie)."""
    widths = {d: len(next(csv.reader([header_line], delimiter=d))) for d in _DELIMITERS}
    return max(_DELIMITERS, key=lambda d: widths[d])  # max() keeps the first on ties


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while chunks are built.

    A chunk is 65k new lists (one per row) that survive until the chunk is counted, so the
    collector keeps rescanning them: a third of the run time on 1M rows. Rows hold only
    strings, so there are no cycles to collect; reference counting frees every chunk.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _chunks(reader: Iterator[list[str]]) -> Iterator[list[list[str]]]:
    while rows := list(islice(reader, CHUNK_ROWS)):
        yield rows


@dataclass(frozen=True)
class _Columns:
    """Positions of the columns we read in the header (first occurrence of a name wins)."""

    score: int
    date: int | None
    by: tuple[int, ...]

    @property
    def width(self) -> int:
        return max((self.score, self.date or 0, *self.by)) + 1

    @classmethod
    def locate(cls, header: Sequence[str], spec: ReadSpec, name: str) -> _Columns:
        positions: dict[str, int] = {}
        for index, column in enumerate(header):
            positions.setdefault(column, index)

        def find(column: str, role: str) -> int:
            if column not in positions:
                available = ", ".join(repr(c) for c in header)
                raise AnalyzeError(f"{name}: no {role} column {column!r} (columns: {available})")
            return positions[column]

        date_index = positions.get(spec.date_column)
        if spec.date_column_required:
            date_index = find(spec.date_column, "date")
        return cls(
            score=find(spec.score_column, "score"),
            date=date_index,
            by=tuple(find(column, "--by") for column in spec.by),
        )


class _ScoreCodes(dict[str, int]):
    """Cell text -> score, or a negative code for why it is not one. Parses each text once."""

    def __init__(self, scale_min: int, scale_max: int) -> None:
        super().__init__()
        self.scale_min, self.scale_max = scale_min, scale_max

    def __missing__(self, text: str) -> int:
        code = self._parse(text.strip())
        self[text] = code
        return code

    def _parse(self, text: str) -> int:
        if not text:
            return _MISSING
        match = _SCORE.fullmatch(text)
        # Spreadsheets export "7.0"; "7.5", "1e1", "nan" or "1_0" are not whole-number answers.
        if match is None or (match["fraction"] or "").strip("0"):
            return _INVALID
        score = int(match["whole"])
        return score if self.scale_min <= score <= self.scale_max else _OUT_OF_SCALE


class _LabelCodes(dict[str, int]):
    """Segment cell text -> code of its stripped value; blank cells get _BLANK."""

    def __init__(self) -> None:
        super().__init__()
        self.labels: list[str] = []
        self._codes: dict[str, int] = {}

    def __missing__(self, text: str) -> int:
        code = self.code_for(text.strip()) if text.strip() else _BLANK
        self[text] = code
        return code

    def code_for(self, label: str) -> int:
        code = self._codes.setdefault(label, len(self.labels))
        if code == len(self.labels):
            self.labels.append(label)
        return code


class _DayCodes(dict[date, int]):
    """Calendar day -> code of its period label (or 0 for every day when no --period)."""

    def __init__(self, period: Period | None) -> None:
        super().__init__()
        self.period = period
        self.periods = _LabelCodes()

    def __missing__(self, day: date) -> int:
        code = 0 if self.period is None else self.periods.code_for(period_label(day, self.period))
        self[day] = code
        return code


_day_of: Callable[[datetime], date] = methodcaller("date")  # local date as written, offset ignored


def _parse_day(text: str) -> date | int:
    """The slow path for a chunk holding a bad date: the day, or _MISSING / _INVALID."""
    text = text.strip()
    if not text:
        return _MISSING
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        return _INVALID


class _GroupCounts:
    """A (groups x width) count matrix that grows as new group values appear chunk by chunk."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.counts: IntArray = np.zeros((0, width), dtype=np.int64)

    def add(self, codes: npt.NDArray[np.int32], scores: npt.NDArray[np.int16], groups: int) -> None:
        if groups > len(self.counts):
            grown = np.zeros((groups, self.width), dtype=np.int64)
            grown[: len(self.counts)] = self.counts
            self.counts = grown
        flat = codes.astype(np.int64) * self.width + scores
        self.counts += np.bincount(flat, minlength=groups * self.width).reshape(groups, self.width)


@dataclass
class _Counter:
    """Accumulates one chunk of rows at a time."""

    spec: ReadSpec
    columns: _Columns
    rows: int = 0
    scores: _ScoreCodes = field(init=False)
    days: _DayCodes = field(init=False)
    values: list[_LabelCodes] = field(init=False)
    overall: IntArray = field(init=False)
    periods: _GroupCounts = field(init=False)
    segments: list[_GroupCounts] = field(init=False)
    skipped: IntArray = field(init=False)

    def __post_init__(self) -> None:
        width = self.spec.scale_max + 1
        self.scores = _ScoreCodes(self.spec.scale_min, self.spec.scale_max)
        self.days = _DayCodes(self.spec.period)
        self.values = [_LabelCodes() for _ in self.columns.by]
        self.overall = np.zeros(width, dtype=np.int64)
        self.periods = _GroupCounts(width)
        self.segments = [_GroupCounts(width) for _ in self.columns.by]
        self.skipped = np.zeros(len(SKIP_REASONS), dtype=np.int64)

    def add_chunk(self, rows: list[list[str]]) -> None:
        rows = _pad(rows, self.columns.width)
        if not rows:
            return
        self.rows += len(rows)
        scores = self._score_codes(rows)
        keep = scores >= 0
        self._count_skipped(-scores[~keep] - 1)  # -1/-2/-3 -> reasons 0/1/2
        days = None
        if self.columns.date is not None:
            days = self._day_codes(rows, self.columns.date)
            bad_day = keep & (days < 0)
            self._count_skipped(-days[bad_day] + 2)  # -1/-2 -> reasons 3/4
            keep &= ~bad_day
        kept = scores[keep]
        self.overall += np.bincount(kept, minlength=len(self.overall))
        if days is not None and self.spec.period is not None:
            self.periods.add(days[keep], kept, len(self.days.periods.labels))
        for index, values, counts in zip(self.columns.by, self.values, self.segments, strict=True):
            codes = _codes(values, rows, index)[keep]
            has_value = codes >= 0
            counts.add(codes[has_value], kept[has_value], len(values.labels))

    def _score_codes(self, rows: list[list[str]]) -> npt.NDArray[np.int16]:
        return _codes(self.scores, rows, self.columns.score).astype(np.int16)

    def _day_codes(self, rows: list[list[str]], index: int) -> npt.NDArray[np.int32]:
        lookup = self.days.__getitem__
        try:
            # C-speed path (no bytecode per row): parse, take the date as written, look it up.
            days = map(_day_of, map(datetime.fromisoformat, map(itemgetter(index), rows)))
            return np.fromiter(map(lookup, days), dtype=np.int32, count=len(rows))
        except ValueError:
            parsed = [_parse_day(row[index]) for row in rows]
            return np.array([d if isinstance(d, int) else lookup(d) for d in parsed], np.int32)

    def _count_skipped(self, reasons: npt.NDArray[np.integer]) -> None:
        if len(reasons):
            self.skipped += np.bincount(reasons, minlength=len(SKIP_REASONS))

    def result(self, delimiter: str) -> Histograms:
        # ISO labels sort chronologically as text.
        periods = dict(sorted(_counted(self.days.periods, self.periods).items()))
        segments = {
            column: _counted(values, counts)
            for column, values, counts in zip(self.spec.by, self.values, self.segments, strict=True)
        }
        skipped = {
            reason: int(count)
            for reason, count in zip(SKIP_REASONS, self.skipped, strict=True)
            if count
        }
        return Histograms(self.overall, periods, segments, skipped, self.rows, delimiter)


def _counted(labels: _LabelCodes, groups: _GroupCounts) -> dict[str, IntArray]:
    """Label -> counts, leaving out labels seen only on skipped rows (they have no answers)."""
    return {
        label: counts
        for label, counts in zip(labels.labels, groups.counts, strict=False)
        if counts.any()
    }


def _codes(table: dict[str, int], rows: list[list[str]], index: int) -> npt.NDArray[np.int32]:
    """Column `index` of the chunk as codes: dict lookups in C, `__missing__` for new texts."""
    cells = map(itemgetter(index), rows)
    return np.fromiter(map(table.__getitem__, cells), dtype=np.int32, count=len(rows))


def _pad(rows: list[list[str]], width: int) -> list[list[str]]:
    """Drop blank lines; give short rows empty cells (counted as missing, not a crash)."""
    if min(map(len, rows)) >= width:
        return rows
    return [row + [""] * (width - len(row)) for row in rows if row]
