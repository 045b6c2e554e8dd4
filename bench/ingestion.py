"""Ingestion: answers per second through the real HTTP endpoints, against the stack's ceiling.

For SQLite and PostgreSQL, with 1 and 2 granian web processes (`--blocking-threads 1`, debug
off, the production settings), wrk on 127.0.0.1 (one thread, 16 connections) POSTs answers:

- ceiling: bench/ceiling/urls.py, a minimal Django view that inserts one row into the same
  responses table (no middleware): what Django + granian + one insert can do here;
- public link: POST /s/<public_id>/ (the respondent page's form: rate limits per IP and per
  survey, survey lookup, record_response(), 303 to the follow-up page);
- API: POST /api/v1/responses (bearer key, rate limit per key, JSON in and out).

Every answer carries a unique id (the form's nonce / the Idempotency-Key); afterwards the
database must hold exactly the acknowledged answers: none lost, none twice, none unknown (an
answer in flight when wrk's clock ran out may be stored without an acknowledgement; they are
counted). Then a burst of 10,000 answers (each acknowledged, stored once). Rate limits are set
so high that they never refuse, so their cost is in the figures. No `kaiku worker` runs: the
`process_response` jobs (language detection, themes) wait in the queue, as they would behind a
busy web tier. The report also counts the SQL queries of one request of each kind and shows a
py-spy profile of a web process under load.

Standalone: `python -m bench ingestion` (settings: `-o ingestion.seconds=10 -o
ingestion.passes=2 -o ingestion.burst=10000 -o ingestion.engines=sqlite,postgres -o
ingestion.processes=1,2 -o ingestion.profile=yes`; a burst of 0 skips it). Each cell is
measured in `passes` runs, the targets' order reversed in every other pass (_orders).
The profile is of the public link; `-o ingestion.profile=api` profiles the API,
`-o ingestion.profile_keep=DIR` keeps py-spy's raw samples there
(profile-<engine>-<target>.txt).
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import Context, _burst, _profile, _stack, _wrk, benchmark, markdown_table

CEILING_SETTINGS = "bench.ceiling.settings"
CONNECTIONS = 16
TARGETS = ("ceiling", "public", "api")
# What the brief measured for the ceiling on this machine kind (requests/s, 2 cores).
TARGET_SHARE = 0.5
TARGET_P99_MS = 100.0


@dataclass
class Site:
    """What one bench database serves: ids and the URLs of each target."""

    engine: str
    database_url: str
    data_dir: Path
    workspace: int
    survey: int
    public_id: str
    token: str

    def path(self, target: str) -> str:
        return {
            "ceiling": f"/ceiling/{self.workspace}/{self.survey}/",
            "public": f"/s/{self.public_id}/",
            "api": "/api/v1/responses",
        }[target]

    def env(self, target: str) -> dict[str, str]:
        env = _stack.kaiku_env(self.database_url, self.data_dir)
        if target == "ceiling":
            env["DJANGO_SETTINGS_MODULE"] = CEILING_SETTINGS
        return env


@dataclass
class Run:
    engine: str
    processes: int
    target: str
    load: _wrk.LoadResult
    server_cpu: float
    check: dict[str, int]

    @property
    def cpu_ms_per_answer(self) -> float:
        return 1000 * self.server_cpu / self.load.acked if self.load.acked else 0.0


# --- The benchmark ---------------------------------------------------------------------------


@benchmark("ingestion", "Ingestion: answers/s through HTTP vs the one-insert ceiling", order=50)
def run(ctx: Context) -> str:
    if not _wrk.available():
        return "**Skipped**: `wrk` is not installed (`apt-get install wrk`)."
    seconds = float(ctx.option("ingestion.seconds", "3" if ctx.quick else "10"))
    burst = int(ctx.option("ingestion.burst", "1000" if ctx.quick else "10000"))
    engines = ctx.option("ingestion.engines", "sqlite,postgres").split(",")
    processes = [int(p) for p in ctx.option("ingestion.processes", "1,2").split(",")]
    passes = int(ctx.option("ingestion.passes", "1" if ctx.quick else "2"))
    profile = ctx.option("ingestion.profile", "yes")
    profiled = {"yes": "public", "public": "public", "api": "api"}.get(profile)
    keep = ctx.option("ingestion.profile_keep", "")
    runs, bursts, extras = [], [], []
    for engine in engines:
        with _site(engine, ctx.workdir) as site:
            extras.append(_queries(site))
            for count in processes:
                for order in _orders(passes):
                    runs += [_measure(site, count, t, seconds, ctx.workdir) for t in order]
            if burst > 0:
                bursts.append(_run_burst(site, max(processes), burst, ctx.workdir))
            if profiled is not None:
                out = Path(keep or ctx.workdir) / f"profile-{engine}-{profiled}.txt"
                extras.append(_profiled(site, profiled, min(seconds, 8), ctx.workdir, out))
    return _report(runs, bursts, extras, seconds, passes)


def _orders(passes: int) -> list[tuple[str, ...]]:
    """The targets' order in each pass: as listed, then reversed, and so on (ceiling, public,
    api, api, public, ceiling), so that a machine slowly getting faster or slower over the
    minutes of a run favours no target, and a noisy moment weighs less in each cell."""
    return [TARGETS if i % 2 == 0 else TARGETS[::-1] for i in range(passes)]


def _merged(runs: list[Run]) -> list[Run]:
    """One Run per engine, web processes and target: its passes together (answers/s and
    CPU over all of them; p50 and p99 of the worse pass)."""
    groups: dict[tuple[str, int, str], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.engine, run.processes, run.target), []).append(run)
    return [_merge(group) for group in groups.values()]


def _merge(group: list[Run]) -> Run:
    if len(group) == 1:
        return group[0]
    loads = [run.load for run in group]
    errors: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    for load in loads:
        errors.update(load.errors)
        statuses.update(load.statuses)
    load = _wrk.LoadResult(
        seconds=sum(load.seconds for load in loads),
        requests=sum(load.requests for load in loads),
        errors=dict(errors),
        p50_ms=max(load.p50_ms for load in loads),
        p90_ms=max(load.p90_ms for load in loads),
        p99_ms=max(load.p99_ms for load in loads),
        max_ms=max(load.max_ms for load in loads),
        sent=sum(load.sent for load in loads),
        statuses=statuses,
        acks=[ack for load in loads for ack in load.acks],
        wrk_cpu=sum(load.wrk_cpu for load in loads),
    )
    check = {name: sum(run.check[name] for run in group) for name in group[0].check}
    first = group[0]
    server_cpu = sum(run.server_cpu for run in group)
    return Run(first.engine, first.processes, first.target, load, server_cpu, check)


@contextmanager
def _site(engine: str, workdir: Path) -> Iterator[Site]:
    data_dir = workdir / f"data-{engine}"
    with _stack.bench_database(engine, "kaiku_bench_ingest", workdir) as url:
        env = _stack.kaiku_env(url, data_dir)
        _stack.kaiku(env, "migrate", "--no-input")
        _stack.kaiku(env, "collectstatic", "--no-input")
        ids = json.loads(_stack.python_module(env, "bench.ingestion", "setup"))
        yield Site(engine, url, data_dir, **ids)


def _measure(site: Site, processes: int, target: str, seconds: float, workdir: Path) -> Run:
    prefix = _prefix()
    log = workdir / f"granian-{site.engine}-{processes}-{target}.log"
    server = _stack.start_granian(site.env(target), processes, log)
    try:
        _load(site, server, target, "warm" + prefix, 2, workdir)  # imports, connections
        meter = _stack.CpuMeter().start(server.worker_pids())
        load = _load(site, server, target, prefix, seconds, workdir)
        server_cpu = meter.stop()
    finally:
        _stack.stop(server.process)
    return Run(site.engine, processes, target, load, server_cpu, _check(site, target, prefix, load))


def _load(
    site: Site,
    server: _stack.Server,
    target: str,
    prefix: str,
    seconds: float,
    workdir: Path,
) -> _wrk.LoadResult:
    return _wrk.run(
        server.url + site.path(target),
        mode="api" if target == "api" else "form",
        prefix=prefix,
        seconds=seconds,
        workdir=workdir,
        connections=CONNECTIONS,
        survey=site.survey,
        token=site.token,
    )


def _run_burst(site: Site, processes: int, answers: int, workdir: Path) -> Run:
    """`answers` public-link answers as fast as they come; each must be acknowledged."""
    prefix = _prefix()
    log = workdir / f"granian-{site.engine}-burst.log"
    server = _stack.start_granian(site.env("public"), processes, log)
    try:
        _load(site, server, "public", "warm" + prefix, 2, workdir)
        meter = _stack.CpuMeter().start(server.worker_pids())
        url = server.url + site.path("public")
        load = _burst.run(url, prefix=prefix, answers=answers, connections=CONNECTIONS)
        server_cpu = meter.stop()
    finally:
        _stack.stop(server.process)
    return Run(
        site.engine, processes, "public", load, server_cpu, _check(site, "public", prefix, load)
    )


_runs = 0


def _prefix() -> str:
    """A unique id prefix per load run (≥ 5 characters: nonces need 16 in all)."""
    global _runs
    _runs += 1
    return f"r{os.getpid() % 1000:03d}{_runs:03d}"


# --- Checking the database -------------------------------------------------------------------


def _check(site: Site, target: str, prefix: str, load: _wrk.LoadResult) -> dict[str, int]:
    """Stored vs sent vs acknowledged, by the answers' unique ids."""
    key_prefix = prefix if target == "api" else "form:" + prefix
    rows = _stack.fetch(
        site.database_url,
        "SELECT idempotency_key, edit_token, id FROM responses_response "
        "WHERE idempotency_key LIKE ?",
        (key_prefix + "%",),
    )
    keys = [row[0] for row in rows]
    sent = {f"{key_prefix}t1n{i:08d}" for i in range(1, load.sent + 1)}
    if target == "public":  # the 303 goes to /s/<public_id>/<edit_token>/
        stored = {row[1] for row in rows}
        acked = {location.rstrip("/").rsplit("/", 1)[-1] for location in load.acks}
    else:
        stored = {str(row[2]) for row in rows}
        acked = set(load.acks)
    return {
        "sent": load.sent,
        "acknowledged": load.acked,
        "stored": len(rows),
        "duplicates": len(keys) - len(set(keys)),
        "lost": len(acked - stored),
        "unknown": len(set(keys) - sent),
        "in_flight_stored": len(stored - acked),
    }


# --- Django-side helpers (run in a subprocess: `python -m bench.ingestion setup|queries`) ----


def _django() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaiku.settings")
    django.setup()


def setup_site() -> dict[str, Any]:
    """A workspace, an NPS survey and a read-write API key in the bench database."""
    _django()
    from kaiku.accounts.models import Workspace
    from kaiku.api.actions import create_api_key
    from kaiku.api.models import Scope
    from kaiku.surveys.models import Survey

    workspace = Workspace.objects.create(name="Bench", slug="bench", languages=["en"])
    survey = Survey.objects.create(workspace=workspace, name="Bench NPS")
    _key, token = create_api_key(workspace, "bench", Scope.READ_WRITE, None, None)
    return {
        "workspace": workspace.pk,
        "survey": survey.pk,
        "public_id": survey.public_id,
        "token": token,
    }


def count_queries() -> dict[str, list[str]]:
    """The SQL of one request of each kind (the second one: the first warms caches)."""
    _django()
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    from kaiku.surveys.models import Survey

    survey = Survey.objects.get(name="Bench NPS")
    token = os.environ["KAIKU_BENCH_TOKEN"]
    client = Client(HTTP_HOST="127.0.0.1")
    requests = {
        "public": lambda n: client.post(
            f"/s/{survey.public_id}/", {"score": 9, "lang": "en", "nonce": f"queries{n:012d}"}
        ),
        "api": lambda n: client.post(
            "/api/v1/responses",
            {"survey": survey.pk, "score": 9, "idempotency_key": f"queries-api-{n}"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        ),
    }
    with override_settings(ROOT_URLCONF="bench.ceiling.urls", MIDDLEWARE=[]):
        url = f"/ceiling/{survey.workspace_id}/{survey.pk}/"
        requests_ceiling = {"ceiling": lambda n: client.post(url, {"score": 9, "nonce": f"c{n}"})}
        result = _capture(requests_ceiling, connection, CaptureQueriesContext)
    return {**result, **_capture(requests, connection, CaptureQueriesContext)}


def _capture(requests: dict[str, Any], connection: Any, capture: Any) -> dict[str, list[str]]:
    result = {}
    for name, send in requests.items():
        send(1)
        with capture(connection) as queries:
            status = send(2).status_code
        assert status in (201, 303), f"{name}: HTTP {status}"
        result[name] = [" ".join(q["sql"].split())[:90] for q in queries.captured_queries]
    return result


def _queries(site: Site) -> str:
    env = {**site.env("public"), "KAIKU_BENCH_TOKEN": site.token}
    found = json.loads(_stack.python_module(env, "bench.ingestion", "queries"))
    rows = [[name, len(sql), "<br>".join(f"`{q}`" for q in sql)] for name, sql in found.items()]
    return f"**SQL per request, {site.engine}** (the second request of each kind):\n\n" + (
        markdown_table(["request", "queries", "statements"], rows)
    )


def _profiled(site: Site, target: str, seconds: float, workdir: Path, out: Path) -> str:
    """A py-spy profile of one web process answering `target` (public or api) under load."""
    if not _profile.available():
        return "_py-spy is not installed: no profile (`pip install py-spy`)._"
    server = _stack.start_granian(site.env(target), 1, workdir / "granian-prof.log")
    try:
        _load(site, server, target, "warm" + _prefix(), 2, workdir)
        spy = _profile.record(server.worker_pids()[0], int(seconds), out)
        _load(site, server, target, _prefix(), seconds + 1, workdir)
        spy.wait(timeout=60)
    finally:
        _stack.stop(server.process)
    name = {"public": "public link POST", "api": "API POST"}[target]
    title = f"**Profile: {name}, {site.engine}, 1 web process** (py-spy)"
    return f"{title}\n\n{_profile.summarise(out)}"


# --- Report ------------------------------------------------------------------------------------


def _report(
    runs: list[Run], bursts: list[Run], extras: list[str], seconds: float, passes: int
) -> str:
    header = (
        f"wrk: 1 thread, {CONNECTIONS} connections, {seconds:.0f} s per run after a 2 s warm-up; "
        "granian `--blocking-threads 1`, KAIKU_DEBUG=false. Server CPU is the web processes' "
        "user+system time per acknowledged answer (steadier than throughput on a shared "
        "machine). Target: ≥ 50% of the ceiling and p99 < 100 ms."
    )
    if passes > 1:
        header += (
            f" Each row: {passes} passes, the targets in mirrored order (ceiling, public, api, "
            "then api, public, ceiling), answers/s and CPU over all passes, p50/p99 of the worse."
        )
    table = _runs_table(_merged(runs))
    return "\n\n".join(
        [header, table, _burst_table(bursts), _checks_table([*runs, *bursts]), *extras]
    )


def _ceiling_of(run: Run, runs: list[Run]) -> Run | None:
    return next(
        (
            r
            for r in runs
            if (r.engine, r.processes, r.target) == (run.engine, run.processes, "ceiling")
        ),
        None,
    )


def _runs_table(runs: list[Run]) -> str:
    rows = []
    for r in runs:
        ceiling = _ceiling_of(r, runs)
        share = r.load.answers_per_second / ceiling.load.answers_per_second if ceiling else 0.0
        verdict = ""
        if r.target != "ceiling":
            ok = share >= TARGET_SHARE and r.load.p99_ms < TARGET_P99_MS
            verdict = "✅" if ok else "❌"
        rows.append(
            [
                r.engine,
                r.processes,
                r.target,
                f"{r.load.answers_per_second:,.0f}",
                f"{r.load.p50_ms:.1f}",
                f"{r.load.p99_ms:.1f}",
                f"{r.cpu_ms_per_answer:.2f}",
                f"{share:.0%} {verdict}",
                f"{100 * r.load.wrk_cpu / max(r.load.seconds, 1e-9):.0f}%",
            ]
        )
    headers = [
        "engine",
        "web processes",
        "endpoint",
        "answers/s",
        "p50 ms",
        "p99 ms",
        "server CPU ms/answer",
        "vs ceiling",
        "wrk CPU",
    ]
    return markdown_table(headers, rows)


def _burst_table(bursts: list[Run]) -> str:
    rows = [
        [
            b.engine,
            b.processes,
            f"{b.check['sent']:,}",
            f"{b.check['acknowledged']:,}",
            f"{b.check['stored']:,}",
            b.check["duplicates"],
            b.check["lost"],
            b.load.errors.get("resent", 0),
            f"{b.load.seconds:.1f}",
            f"{b.load.answers_per_second:,.0f}",
            f"{b.load.p99_ms:.1f}",
            f"{b.cpu_ms_per_answer:.2f}",
            f"{100 * b.load.wrk_cpu / max(b.load.seconds, 1e-9):.0f}%",
        ]
        for b in bursts
    ]
    headers = [
        "burst: engine",
        "web processes",
        "answers",
        "acknowledged",
        "stored",
        "duplicates",
        "lost",
        "resent (connection errors, 429/5xx)",
        "seconds",
        "answers/s",
        "p99 ms",
        "server CPU ms/answer",
        "client CPU",
    ]
    note = (
        "Bursts: an asyncio client (bench/_burst.py, 16 keep-alive connections) that resends an "
        "answer with the same nonce until it is acknowledged, as a real client would."
    )
    return note + "\n\n" + markdown_table(headers, rows)


def _checks_table(runs: list[Run]) -> str:
    rows = [[r.engine, r.processes, r.target, *r.check.values(), _verdict(r.check)] for r in runs]
    headers = [
        "engine",
        "procs",
        "endpoint",
        "sent",
        "acknowledged",
        "stored",
        "duplicates",
        "lost",
        "unknown",
        "stored, in flight at cut-off",
        "exact",
    ]
    return "Database after each run, every pass (by the answers' unique ids):\n\n" + markdown_table(
        headers, rows
    )


def _verdict(check: dict[str, int]) -> str:
    exact = (
        check["duplicates"] == 0
        and check["lost"] == 0
        and check["unknown"] == 0
        and check["stored"] == check["acknowledged"] + check["in_flight_stored"]
        and check["in_flight_stored"] <= CONNECTIONS
    )
    return "yes" if exact else "**NO**"


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "setup":
        print(json.dumps(setup_site()))
    elif command == "queries":
        print(json.dumps(count_queries()))
    else:
        print("usage: python -m bench.ingestion setup|queries", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
