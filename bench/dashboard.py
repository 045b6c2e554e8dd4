"""The survey dashboard's query set on 1M and 10M answers, SQLite and PostgreSQL.

Data: 5 surveys over 3 years with realistic properties (plan, country, company size, support
channel, customer_since), written with raw bulk inserts (sqlite3 executemany / PostgreSQL COPY)
into the real Kaiku tables of a separate bench database (created by `kaiku migrate`), indexes
built after loading. Timed, median of 5 warm runs, for one survey over the last 12 months:

- Kaiku: the dashboard's query layer (ONE UNION ALL statement: local days in the workspace's
  zone + breakdowns by two properties), then kaiku.analyze's summary (headline, monthly trend
  with tests, two segment tables with BH): what the page computes.
- numpy reference: bincount over in-memory arrays of the same answers (masked scan).
- per-figure COUNT: three COUNT queries (promoters, passives, detractors) per figure, as simple
  NPS libraries do: headline + 12 months + each plan and country value.

Each engine and size runs in its own process (`python -m bench.dashboard --worker ...`) so that
Django talks to one bench database at a time. Standalone: `python -m bench.dashboard --sizes 1m`
(sizes: 1m, 10m; engines: sqlite, postgres). PostgreSQL comes from KAIKU_BENCH_PG_URL (default
postgres://postgres@127.0.0.1:5432/postgres); the bench creates and drops its own database.
Disk: ~0.3 GB per million answers on SQLite, ~0.5 GB on PostgreSQL, removed afterwards. Time:
loading and building the rollup take ~4 + 3.5 min per million answers on SQLite and ~1.5 + 2.5
on PostgreSQL on 2 busy cores, so the full 1M + 10M run takes hours; `python -m bench --quick`
runs 50k answers as a smoke test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from bench import Context, benchmark, markdown_table

SEED = 20261124
SURVEYS = 5
DAYS = 3 * 365
END = date(2026, 10, 31)  # the last day of data (local); the dashboard looks at 12 months to it
ZONE = "Europe/Helsinki"
PLANS = {"free": 0.4, "basic": 0.3, "pro": 0.2, "enterprise": 0.1}
COUNTRIES = {"FI": 0.35, "EE": 0.2, "SE": 0.15, "DE": 0.1, "GB": 0.08, "NO": 0.07, "DK": 0.05}
SIZES_ = ("1-9", "10-49", "50-249", "250-999", "1000+")
SUPPORT = ("email", "chat", "phone", "self-service")
CHANNELS = ("email", "link", "widget", "kiosk", "api", "import")
LANGUAGES = ("en", "fi", "et")
SCORE_P = np.array([2, 1, 1, 2, 2, 4, 6, 10, 20, 24, 28], dtype=float) / 100
BASIC_SCORE_P = np.array([5, 2, 3, 4, 5, 7, 9, 12, 18, 18, 17], dtype=float) / 100
SIZE_ROWS = {"50k": 50_000, "1m": 1_000_000, "10m": 10_000_000}
REPEAT = 5
PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "kaiku_bench_dashboard"


# --- Data -----------------------------------------------------------------------------------


def generate(rows: int, seed: int = SEED) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    start = datetime.combine(END - timedelta(days=DAYS - 1), datetime.min.time(), tzinfo=UTC)
    seconds = np.sort(rng.integers(0, DAYS * 86400, rows))
    plan = rng.choice(len(PLANS), size=rows, p=list(PLANS.values()))
    score = rng.choice(11, size=rows, p=SCORE_P)
    basic = plan == list(PLANS).index("basic")
    score[basic] = rng.choice(11, size=int(basic.sum()), p=BASIC_SCORE_P)
    return {
        "t": int(start.timestamp()) + seconds,
        "survey": rng.integers(0, SURVEYS, rows),
        "score": score,
        "plan": plan,
        "country": rng.choice(len(COUNTRIES), size=rows, p=list(COUNTRIES.values())),
        "size": rng.integers(0, len(SIZES_), rows),
        "support": rng.integers(0, len(SUPPORT), rows),
        "channel": rng.integers(0, len(CHANNELS), rows),
        "language": rng.integers(0, len(LANGUAGES), rows),
        "since": rng.integers(30, 6 * 365, rows),  # tenure in days at answer time
    }


def row_chunks(
    data: dict[str, np.ndarray], ids: dict[str, Any], chunk: int = 100_000
) -> Iterator[list[tuple[Any, ...]]]:
    """Rows as tuples in insert order: (id, workspace, survey, score, scale_min, scale_max,
    language, channel, properties JSON, created_at 'YYYY-MM-DD HH:MM:SS')."""
    plans, countries = list(PLANS), list(COUNTRIES)
    rows = len(data["t"])
    for first in range(0, rows, chunk):
        part = slice(first, min(rows, first + chunk))
        stamps = np.datetime_as_string(data["t"][part].astype("datetime64[s]"), unit="s")
        since_days = (data["t"][part] // 86400 - data["since"][part]).astype("datetime64[D]")
        since = np.datetime_as_string(since_days, unit="D")
        out = []
        for i, (stamp, s, sc, p, c, z, su, ch, la, si) in enumerate(
            zip(
                stamps.tolist(),
                data["survey"][part].tolist(),
                data["score"][part].tolist(),
                data["plan"][part].tolist(),
                data["country"][part].tolist(),
                data["size"][part].tolist(),
                data["support"][part].tolist(),
                data["channel"][part].tolist(),
                data["language"][part].tolist(),
                since.tolist(),
                strict=True,
            )
        ):
            props = (
                f'{{"plan": "{plans[p]}", "country": "{countries[c]}", "company_size": '
                f'"{SIZES_[z]}", "support_channel": "{SUPPORT[su]}", "customer_since": "{si}"}}'
            )
            out.append(
                (
                    first + i + 1,
                    ids["workspace"],
                    ids["surveys"][s],
                    sc,
                    props,
                    CHANNELS[ch],
                    LANGUAGES[la],
                    stamp.replace("T", " "),
                )
            )
        yield out


# --- Worker: one engine, one size, in its own process ------------------------------------------


def _setup_django(url: str) -> None:
    os.environ["KAIKU_DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaiku.settings")
    os.environ.setdefault("KAIKU_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _objects() -> dict[str, Any]:
    from kaiku.accounts.models import Workspace
    from kaiku.surveys.models import Survey

    workspace = Workspace.objects.create(name="Bench", slug="bench", time_zone=ZONE)
    surveys = [
        Survey.objects.create(workspace=workspace, name=f"Survey {i}") for i in range(SURVEYS)
    ]
    return {"workspace": workspace.pk, "surveys": [s.pk for s in surveys], "objects": surveys}


KNOWN = {
    "id",
    "workspace_id",
    "survey_id",
    "score",
    "scale_min",
    "scale_max",
    "properties",
    "channel",
    "language",
    "created_at",
    "updated_at",
}


def _extra_columns() -> list[tuple[str, Any]]:
    """NOT NULL columns Kaiku may add later (filled with an empty value of their type)."""
    from kaiku.responses.models import Response

    extra = []
    for field in Response._meta.concrete_fields:
        column = field.column
        if column in KNOWN or field.null:
            continue
        kind = field.get_internal_type()
        if kind == "JSONField":
            value: Any = json.dumps(field.get_default())
        elif kind in ("BooleanField",):
            value = bool(field.get_default())
        elif "Integer" in kind:
            value = field.get_default() or 0
        else:
            value = field.get_default() or ""
        extra.append((column, value))
    return extra


def load(data: dict[str, np.ndarray], ids: dict[str, Any]) -> float:
    """Bulk-load the answers with the response table's indexes dropped, then rebuild them."""
    from django.db import connection

    started = time.perf_counter()
    extra = _extra_columns()
    columns = [
        "id",
        "workspace_id",
        "survey_id",
        "score",
        "properties",
        "channel",
        "language",
        "created_at",
        "scale_min",
        "scale_max",
        "updated_at",
    ] + [c for c, _ in extra]
    constant = [0, 10] + [v for _, v in extra]
    with connection.cursor() as cursor:
        indexes = _drop_indexes(cursor, connection.vendor)
        if connection.vendor == "sqlite":
            raw = connection.connection
            placeholders = ", ".join(["?"] * len(columns))
            sql = f"INSERT INTO responses_response ({', '.join(columns)}) VALUES ({placeholders})"
            for chunk in row_chunks(data, ids):
                raw.executemany(sql, [(*r, *constant[:2], r[-1], *constant[2:]) for r in chunk])
            raw.commit()
        else:
            copy_sql = f"COPY responses_response ({', '.join(columns)}) FROM STDIN"
            with cursor.cursor.copy(copy_sql) as copy:
                for chunk in row_chunks(data, ids):
                    for r in chunk:
                        copy.write_row(
                            (*r[:7], r[7] + "+00", *constant[:2], r[7] + "+00", *constant[2:])
                        )
        for statement in indexes:
            cursor.execute(statement)
        if connection.vendor == "postgresql":
            cursor.execute("SELECT setval('responses_response_id_seq', %s)", [len(data["t"])])
            cursor.execute("VACUUM ANALYZE responses_response")
        else:
            cursor.execute("ANALYZE")
    return time.perf_counter() - started


def _drop_indexes(cursor: Any, vendor: str) -> list[str]:
    if vendor == "sqlite":
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
            "tbl_name = 'responses_response' AND sql IS NOT NULL"
        )
    else:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'responses_response' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
    found = cursor.fetchall()
    for name, _sql in found:
        cursor.execute(f'DROP INDEX "{name}"')
    return [sql for _name, sql in found]


def build_rollup() -> float:
    """The daily histogram rollup from scratch, as of noon the day after the data ends."""
    from kaiku.insights.rollup import refresh_rollups

    started = time.perf_counter()
    now = datetime.combine(END + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=12)
    refresh_rollups(now, full=True)
    from django.db import connection

    with connection.cursor() as cursor:  # fresh statistics, as autovacuum would give them
        if connection.vendor == "postgresql":
            # VACUUM too: index-only scans need the visibility map autovacuum keeps.
            cursor.execute("VACUUM ANALYZE insights_dailyhistogram")
        else:
            cursor.execute("ANALYZE insights_dailyhistogram")
    return time.perf_counter() - started


def kaiku_dashboard(survey: Any) -> dict[str, Any]:
    """The timed set, as the dashboard computes it: one statement, then the statistics."""
    from kaiku.insights.analysis import analyze_counts
    from kaiku.insights.queries.filters import ResponseFilter
    from kaiku.insights.queries.grouped import Grouping, Scope, histogram_set

    scope = Scope.of(survey)
    flt = ResponseFilter(since=END - timedelta(days=364), until=END)
    requests = [(Grouping("day"), flt), (Grouping.for_name("plan"), flt)]
    requests.append((Grouping.for_name("country"), flt))
    days_counts, plans, countries = histogram_set(scope, requests)
    days = {date.fromisoformat(str(k)): v for k, v in days_counts.items() if k}
    analysis, _ = analyze_counts(
        scope, days, {"plan": plans, "country": countries}, "month", flt.since, flt.until
    )
    return analysis.result


def numpy_reference(data: dict[str, np.ndarray], survey_index: int) -> dict[str, np.ndarray]:
    """Masked scan + bincount: headline, month (UTC+2 approximation), plan, country."""
    zone = ZoneInfo(ZONE)  # the same local-midnight bounds as the dashboard's filter
    end = int(datetime.combine(END + timedelta(days=1), datetime.min.time(), zone).timestamp())
    first = END - timedelta(days=364)
    start = int(datetime.combine(first, datetime.min.time(), zone).timestamp())
    t = data["t"]
    mask = (data["survey"] == survey_index) & (t >= start) & (t < end)
    score = data["score"][mask]
    month = ((t[mask] + 7200) // 86400).astype("datetime64[D]").astype("datetime64[M]")
    month_code = (month - month.min()).astype(np.int64)
    return {
        "overall": np.bincount(score, minlength=11),
        "month": np.bincount(month_code * 11 + score).reshape(-1, 11),
        "plan": np.bincount(data["plan"][mask] * 11 + score).reshape(-1, 11),
        "country": np.bincount(data["country"][mask] * 11 + score).reshape(-1, 11),
    }


def per_figure_counts(survey_id: int, vendor: str) -> int:
    """Three COUNT queries per figure: headline, 12 months, each plan and country value."""
    from django.db import connection

    from kaiku.insights.queries.filters import ResponseFilter

    flt = ResponseFilter(since=END - timedelta(days=364), until=END)
    start, end = flt.utc_bounds(ZoneInfo(ZONE))
    adapt = connection.ops.adapt_datetimefield_value
    figures: list[tuple[str, list[Any]]] = [("", [])]
    month = date(start.year, start.month, 1)
    while month < end.date():
        following = (month + timedelta(days=32)).replace(day=1)
        figures.append(("AND created_at >= %s AND created_at < %s", [month, following]))
        month = following
    prop = (
        "json_extract(properties, '$.{key}') = %s"
        if vendor == "sqlite"
        else "properties ->> '{key}' = %s"
    )
    for key, values in (("plan", PLANS), ("country", COUNTRIES)):
        figures += [("AND " + prop.format(key=key), [value]) for value in values]
    groups = ("score >= 9", "score BETWEEN 7 AND 8", "score <= 6")
    queries = 0
    with connection.cursor() as cursor:
        for extra, params in figures:
            for group in groups:
                cursor.execute(
                    "SELECT COUNT(*) FROM responses_response WHERE survey_id = %s AND "
                    f"created_at >= %s AND created_at < %s AND {group} {extra}",
                    [survey_id, adapt(start), adapt(end), *[_adapt(p) for p in params]],
                )
                cursor.fetchone()
                queries += 1
    return queries


def _adapt(value: Any) -> Any:
    from django.db import connection

    if isinstance(value, date) and not isinstance(value, datetime):
        moment = datetime.combine(value, datetime.min.time(), ZoneInfo(ZONE))
        return connection.ops.adapt_datetimefield_value(moment)
    return value


def median_ms(fn: Callable[[], object], repeat: int = REPEAT) -> float:
    fn()  # warm the cache
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def worker(engine: str, size: str, url: str) -> dict[str, Any]:
    _setup_django(url)
    from django.db import connection

    rows = SIZE_ROWS[size]
    data = generate(rows)
    ids = _objects()
    load_s = load(data, ids)
    survey = ids["objects"][0]
    # The answers table alone (before the rollup exists); fewer runs on 10M, where it is slow.
    repeat = 3 if rows <= SIZE_ROWS["1m"] else 1
    live_ms = median_ms(lambda: kaiku_dashboard(survey), repeat)
    rollup_s = build_rollup()
    result = kaiku_dashboard(survey)
    reference = numpy_reference(data, 0)
    if result["overall"]["n"] != int(reference["overall"].sum()):
        raise RuntimeError(
            f"kaiku counted {result['overall']['n']}, numpy {int(reference['overall'].sum())}"
        )
    plans = {row["value"]: row["n"] for row in result["segments"]["plan"]}
    if plans != dict(zip(PLANS, reference["plan"].sum(axis=1).tolist(), strict=False)):
        raise RuntimeError(f"plan counts differ: {plans}")
    return {
        "engine": engine,
        "size": size,
        "rows": rows,
        "in_range": result["overall"]["n"],
        "load_s": round(load_s, 1),
        "kaiku_ms": median_ms(lambda: kaiku_dashboard(survey)),
        "live_ms": live_ms,
        "rollup_s": round(rollup_s, 1),
        "numpy_ms": median_ms(lambda: numpy_reference(data, 0)),
        "count_ms": median_ms(lambda: per_figure_counts(survey.pk, connection.vendor), repeat),
        "count_queries": per_figure_counts(survey.pk, connection.vendor),
    }


# --- Orchestration ------------------------------------------------------------------------------


def _pg_admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(sql)


def run_one(engine: str, size: str, workdir: Path) -> dict[str, Any]:
    if engine == "sqlite":
        path = workdir / f"bench-{size}.sqlite3"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        admin = os.environ.get("KAIKU_BENCH_PG_URL", PG_DEFAULT)
        _pg_admin(admin, f"DROP DATABASE IF EXISTS {BENCH_DB}")
        _pg_admin(admin, f"CREATE DATABASE {BENCH_DB}")
        url = admin.rsplit("/", 1)[0] + f"/{BENCH_DB}"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.dashboard", "--worker", engine, size, url],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"{engine} {size} failed:\n{done.stderr[-4000:]}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        if engine == "sqlite":
            result["db_mb"] = round(path.stat().st_size / 1e6)
        return result
    finally:
        if engine == "sqlite":
            path.unlink(missing_ok=True)
        else:
            _pg_admin(admin, f"DROP DATABASE IF EXISTS {BENCH_DB}")


def report(results: list[dict[str, Any]]) -> str:
    rows = []
    for r in results:
        target = 10 if r["engine"] == "sqlite" else 4
        vs_numpy = r["kaiku_ms"] / r["numpy_ms"]
        vs_count = r["count_ms"] / r["kaiku_ms"]
        rows.append(
            [
                r["engine"],
                f"{r['rows']:,}",
                f"{r['in_range']:,}",
                f"{r['kaiku_ms']:.1f}",
                f"{r['live_ms']:.0f}",
                f"{r['numpy_ms']:.1f}",
                f"{vs_numpy:.1f}× (target ≤ {target}×)",
                f"{r['count_ms']:.0f} ({r['count_queries']} queries)",
                f"{vs_count:.1f}× (target ≥ 5×)",
                f"{r['load_s']:.0f} s + rollup {r['rollup_s']:.0f} s",
            ]
        )
    return markdown_table(
        [
            "engine",
            "answers",
            "in range",
            "Kaiku ms",
            "without rollup ms",
            "numpy ms",
            "Kaiku / numpy",
            "per-figure COUNT ms",
            "COUNT / Kaiku",
            "bulk load + rollup build",
        ],
        rows,
    )


def run_all(workdir: Path, sizes: list[str], engines: list[str]) -> str:
    results = [run_one(e, s, workdir) for s in sizes for e in engines]
    return (
        report(results)
        + "\n\nOne survey of five, last 12 months (local days in Europe/Helsinki), headline + "
        "monthly trend + breakdowns by plan and country; medians of 5 warm runs "
        "(per-figure COUNT: 3). PostgreSQL 15 with `jit = off` for the statement."
    )


@benchmark("dashboard", "Dashboard query set: 1M and 10M answers, SQLite and PostgreSQL", order=20)
def run(ctx: Context) -> str:
    # --quick: a 50k smoke run (a minute); the full run takes over an hour on 2 cores.
    sizes = ["50k"] if ctx.quick else ["1m", "10m"]
    return run_all(ctx.workdir, sizes, ["sqlite", "postgres"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard")
    parser.add_argument("--worker", nargs=3, metavar=("ENGINE", "SIZE", "URL"))
    parser.add_argument("--sizes", default="1m,10m")
    parser.add_argument("--engines", default="sqlite,postgres")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return 0
    with tempfile.TemporaryDirectory(prefix="kaiku-bench-dashboard-") as workdir:
        print(run_all(Path(workdir), args.sizes.split(","), args.engines.split(",")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
