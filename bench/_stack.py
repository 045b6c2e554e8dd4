"""Helpers shared by the ingestion and dispatch benchmarks: databases, Kaiku processes, CPU.

Everything runs as real processes on 127.0.0.1, as in production: `kaiku migrate`, granian web
processes, `kaiku worker`s. A bench database is a SQLite file in the scratch directory or a
`kaiku_bench_*` PostgreSQL database that the bench creates and drops (admin URL from
KAIKU_BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_DEFAULT = "postgres://postgres@127.0.0.1:5432/postgres"
SECRET = "kaiku-bench-secret-key-not-for-production-0123456789"  # noqa: S105 - bench only
NO_LIMIT = "1000000000"  # rate limits stay on (their cost is measured) but never refuse
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- Databases -----------------------------------------------------------------------------


def pg_admin_url() -> str:
    return os.environ.get("KAIKU_BENCH_PG_URL", PG_ADMIN_DEFAULT)


def _pg_url(name: str) -> str:
    base = pg_admin_url().rsplit("/", 1)[0]
    return f"{base}/{name}"


def _pg_execute(sql: str) -> None:
    import psycopg

    url = pg_admin_url().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


@contextlib.contextmanager
def bench_database(engine: str, name: str, workdir: Path) -> Iterator[str]:
    """A fresh, empty database URL for `engine`; PostgreSQL ones are dropped afterwards."""
    if engine == "sqlite":
        yield f"sqlite:///{workdir / (name + '.sqlite3')}"
        return
    assert name.startswith("kaiku_bench_"), name
    _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_execute(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def connect(url: str) -> Any:
    """A DB-API connection to a bench database, for checks done outside Django."""
    if url.startswith("sqlite:///"):
        import sqlite3

        return sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
    import psycopg

    return psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True)


def fetch(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    placeholder_sql = sql if url.startswith("sqlite") else sql.replace("?", "%s")
    conn = connect(url)
    try:
        return list(conn.execute(placeholder_sql, params).fetchall())
    finally:
        conn.close()


# --- Kaiku processes -----------------------------------------------------------------------


def kaiku_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """A production-like environment (debug off) for Kaiku processes of the bench."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAIKU_")}
    env.update(
        DJANGO_SETTINGS_MODULE="kaiku.settings",
        KAIKU_DEBUG="false",
        KAIKU_SECRET_KEY=SECRET,
        KAIKU_ALLOWED_HOSTS="127.0.0.1,localhost",
        KAIKU_DATABASE_URL=database_url,
        KAIKU_DATA_DIR=str(data_dir),
        KAIKU_LOG_LEVEL="WARNING",
        KAIKU_RATE_LIMIT_IP_PER_MINUTE=NO_LIMIT,
        KAIKU_RATE_LIMIT_SURVEY_PER_MINUTE=NO_LIMIT,
        KAIKU_API_RATE_LIMIT_PER_MINUTE=NO_LIMIT,
    )
    env.update(extra)
    return env


def kaiku(env: dict[str, str], *args: str) -> str:
    """Run a `kaiku` management command; its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "kaiku", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"kaiku {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def python_module(env: dict[str, str], module: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"{module} {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """granian serving Kaiku (or the bench's ceiling app) with N worker processes."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        return descendants(self.process.pid)


def start_granian(env: dict[str, str], processes: int, log: Path, timeout: float = 60) -> Server:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(processes),
        "--blocking-threads",
        "1",
        "--no-ws",
        "kaiku.wsgi:application",
    ]
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    server = Server(process, port, log)
    _wait_until_up(server, processes, timeout)
    return server


def _wait_until_up(server: Server, processes: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"granian exited:\n{server.log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(server.url + "/", timeout=2).close()  # noqa: S310
        except urllib.error.HTTPError:
            pass  # any HTTP answer means it is up
        except OSError:
            time.sleep(0.2)
            continue
        if len(server.worker_pids()) >= processes:
            return
        time.sleep(0.2)
    raise RuntimeError(f"granian did not start:\n{server.log.read_text()[-3000:]}")


def stop(process: subprocess.Popen[Any], timeout: float = 20) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- CPU accounting ------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (granian's workers are its children)."""
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        found += [int(c) for c in children]
        frontier += [int(c) for c in children]
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time so far of these processes (not their dead children)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


@dataclass
class CpuMeter:
    """CPU seconds used by a process tree between start() and stop()."""

    pids: list[int] = field(default_factory=list)
    started: float = 0.0
    used: float = 0.0

    def start(self, pids: list[int]) -> CpuMeter:
        self.pids, self.started = pids, cpu_seconds(pids)
        return self

    def stop(self) -> float:
        self.used = cpu_seconds(self.pids) - self.started
        return self.used
