"""Dispatch: invitations rendered and handed to a local SMTP server per second, by 1 and 2 workers.

For each engine and worker count: a fresh workspace with N contacts (default 10,000), real
`kaiku worker` processes (database queue, periodic scheduler on), an aiosmtpd sink in its own
process (bench/_smtp_sink.py) on 127.0.0.1. The clock starts when schedule_invitations() has
committed (it enqueues the dispatcher) and stops when the sink has received the N-th email:
claim, 100 send jobs, rendering (text + HTML, per language), MIME, SMTP, one conditional
UPDATE per email. Afterwards every invitation must be `sent` and the sink must have seen
each token once. Target: ≥ 500 invitations/s.

Standalone: `python -m bench dispatch -o dispatch.invitations=10000 -o
dispatch.engines=postgres,sqlite -o dispatch.workers=1,2`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import Context, _profile, _stack, benchmark, markdown_table

TARGET_PER_SECOND = 500


@dataclass
class DispatchRun:
    engine: str
    workers: int
    invitations: int
    seconds: float
    sink: dict[str, Any]
    worker_cpu: float
    sink_cpu: float
    statuses: dict[str, int]

    @property
    def per_second(self) -> float:
        return self.invitations / self.seconds if self.seconds else 0.0

    @property
    def sink_per_second(self) -> float:
        span = self.sink["last"] - self.sink["first"]
        return (self.sink["messages"] - 1) / span if span > 0 else 0.0


@benchmark("dispatch", "Dispatch: invitations emailed per second by the worker pool", order=60)
def run(ctx: Context) -> str:
    count = int(ctx.option("dispatch.invitations", "1000" if ctx.quick else "10000"))
    engines = ctx.option("dispatch.engines", "postgres,sqlite").split(",")
    pools = [int(n) for n in ctx.option("dispatch.workers", "1,2").split(",")]
    profile = ctx.option("dispatch.profile", "yes") == "yes" and _profile.available()
    runs, profiles = [], []
    for engine in engines:
        with _stack.bench_database(engine, "kaiku_bench_dispatch", ctx.workdir) as url:
            env = _stack.kaiku_env(url, ctx.workdir / f"data-{engine}")
            _stack.kaiku(env, "migrate", "--no-input")
            for workers in pools:
                spy = ctx.workdir / f"profile-{engine}-{workers}.txt" if profile else None
                runs.append(_run(env, engine, workers, count, ctx.workdir, spy))
                if spy is not None and workers == min(pools):
                    profiles.append(_profile_section(engine, spy))
    return "\n\n".join([_report(runs), *profiles])


def _profile_section(engine: str, spy: Path) -> str:
    title = f"**Profile: one worker, {engine}** (py-spy on the worker process, waits included)"
    summary = _profile.summarise(spy, _profile.WORKER_MARKERS, _profile.WORKER_FRAME)
    return f"{title}\n\n{summary}"


def _run(
    env: dict[str, str],
    engine: str,
    workers: int,
    count: int,
    workdir: Path,
    spy: Path | None = None,
) -> DispatchRun:
    tag = f"{engine}-{workers}"
    survey = json.loads(_stack.python_module(env, "bench.dispatch", "setup", str(count), tag))
    sink, stats_file = _start_sink(workdir, tag)
    env = {**env, "KAIKU_EMAIL_HOST": "127.0.0.1", "KAIKU_EMAIL_PORT": str(sink[1])}
    pool = [_start_worker(env, f"bench-{tag}-{i}", workdir) for i in range(workers)]
    try:
        for process, log in pool:
            _wait_started(process, log)
        meter = _stack.CpuMeter().start([process.pid for process, _log in pool])
        sink_meter = _stack.CpuMeter().start([sink[0].pid])
        scheduled = json.loads(_stack.python_module(env, "bench.dispatch", "schedule", str(survey)))
        recorder = None
        if spy is not None:  # the steady state: once the first tenth has gone out
            _wait_for_sink(stats_file, count // 10, timeout=max(300, count / 20))
            recorder = _profile.record(pool[0][0].pid, 8, spy)
        stats = _wait_for_sink(stats_file, count, timeout=max(300, count / 20))
        worker_cpu, sink_cpu = meter.stop(), sink_meter.stop()
        if recorder is not None:
            recorder.wait(timeout=60)
    finally:
        for process, _log in pool:
            _stack.stop(process)
        _stack.stop(sink[0])
    stats = json.loads(stats_file.read_text())
    statuses = _statuses(env["KAIKU_DATABASE_URL"], int(survey))
    seconds = stats["last"] - scheduled["committed_at"]
    return DispatchRun(engine, workers, count, seconds, stats, worker_cpu, sink_cpu, statuses)


def _start_sink(workdir: Path, tag: str) -> tuple[tuple[subprocess.Popen[bytes], int], Path]:
    port = _stack.free_port()
    stats = workdir / f"sink-{tag}.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "bench._smtp_sink", str(port), str(stats)],
        cwd=_stack.ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ready = stats.parent / (stats.name + ".ready")
    deadline = time.monotonic() + 30
    while not ready.exists():
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError("the SMTP sink did not start")
        time.sleep(0.1)
    return (process, port), stats


def _start_worker(
    env: dict[str, str], name: str, workdir: Path
) -> tuple[subprocess.Popen[bytes], Path]:
    log = workdir / f"{name}.log"
    command = [
        sys.executable,
        "-m",
        "kaiku",
        "worker",
        "--no-reload",
        "--no-startup-delay",
        "--interval",
        "0.1",
        "--worker-id",
        name,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=_stack.ROOT, env={**env, "KAIKU_LOG_LEVEL": "INFO"}, stdout=out, stderr=out
        )
    return process, log


def _wait_started(process: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while "Starting worker" not in log.read_text(errors="replace"):
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"worker did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)


def _wait_for_sink(stats_file: Path, count: int, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            stats: dict[str, Any] = json.loads(stats_file.read_text())
        except (OSError, ValueError):
            stats = {"messages": 0}
        if stats["messages"] >= count:
            return stats
        time.sleep(0.2)
    raise RuntimeError(f"only {stats['messages']} of {count} emails arrived in {timeout:.0f} s")


def _statuses(url: str, survey: int) -> dict[str, int]:
    rows = _stack.fetch(
        url,
        "SELECT status, COUNT(*) FROM surveys_invitation WHERE survey_id = ? GROUP BY status",
        (survey,),
    )
    return {str(status): int(n) for status, n in rows}


def _report(runs: list[DispatchRun]) -> str:
    rows = [
        [
            r.engine,
            r.workers,
            f"{r.invitations:,}",
            f"{r.seconds:.1f}",
            f"{r.per_second:,.0f} {'✅' if r.per_second >= TARGET_PER_SECOND else '❌'}",
            f"{r.sink_per_second:,.0f}",
            f"{1000 * r.worker_cpu / r.invitations:.2f}",
            f"{1000 * r.sink_cpu / r.invitations:.2f}",
            f"{r.sink['unique']:,}",
            r.sink["duplicates"],
            ", ".join(f"{k} {v:,}" for k, v in sorted(r.statuses.items())),
        ]
        for r in runs
    ]
    headers = [
        "engine",
        "workers",
        "invitations",
        "seconds (scheduled → last email)",
        "invitations/s",
        "first → last email /s",
        "worker CPU ms/invitation",
        "sink CPU ms/email",
        "tokens received",
        "duplicates",
        "statuses after",
    ]
    note = (
        "Real `kaiku worker` processes (database queue), aiosmtpd sink in its own process on "
        f"127.0.0.1; target ≥ {TARGET_PER_SECOND}/s. The first column of rates includes the "
        "dispatcher's claim and the queue's pick-up latency; the second is the steady rate."
    )
    return note + "\n\n" + markdown_table(headers, rows)


# --- Django-side helpers (a subprocess: `python -m bench.dispatch setup|schedule`) ------------


def _django() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaiku.settings")
    django.setup()


def setup(count: int, tag: str) -> int:
    """A workspace with `count` contacts (en/fi/et) and a survey; the survey's id."""
    _django()
    from kaiku.accounts.models import Workspace
    from kaiku.contacts.models import Contact
    from kaiku.surveys.models import Survey

    workspace = Workspace.objects.create(
        name=f"Bench {tag}", slug=f"bench-{tag}", email_rate_per_minute=1_000_000
    )
    languages = ("en", "fi", "et")
    Contact.objects.bulk_create(
        (
            Contact(
                workspace=workspace,
                email=f"person{i}@example.org",
                name=f"Person {i}",
                language=languages[i % 3],
            )
            for i in range(count)
        ),
        batch_size=1000,
    )
    return Survey.objects.create(workspace=workspace, name="Bench NPS").pk


def schedule(survey_id: int) -> dict[str, float]:
    """Schedule one invitation per contact now (enqueues the dispatcher on commit)."""
    _django()
    from kaiku.contacts.models import Contact
    from kaiku.surveys.models import Survey
    from kaiku.surveys.sending import schedule_invitations

    survey = Survey.objects.get(pk=survey_id)
    started = time.time()
    summary = schedule_invitations(survey, Contact.objects.filter(workspace=survey.workspace))
    return {"scheduled": summary.scheduled, "started_at": started, "committed_at": time.time()}


def main(argv: list[str]) -> int:
    if argv[:1] == ["setup"]:
        print(json.dumps(setup(int(argv[1]), argv[2])))
    elif argv[:1] == ["schedule"]:
        print(json.dumps(schedule(int(argv[1]))))
    else:
        print("usage: python -m bench.dispatch setup COUNT TAG | schedule SURVEY", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
