"""Real Kaiku processes against the test database, for the deployment and fault tests.

- `WebProcess`: granian serving kaiku.wsgi (KAIKU_DEBUG=false, a secret key, allowed
  hosts) on a free loopback port, started and waited for via /healthz.
- `WorkerProcess`: `kaiku worker` whose output is kept so a test can wait on it.
- `TcpProxy`: a small asyncio TCP proxy (in a thread) in front of PostgreSQL that a test
  can cut (closing the listener and every open connection) and restore on the same port.
- `post_form` / `http_get`: plain HTTP without redirects, for reading 303s and 503s
  (header names in lower case).

Every process is stopped by the test in `finally` (`stop()`, SIGKILL after a timeout).
Use them in TransactionTestCase / transactional_db tests on PostgreSQL: the processes
need committed data and their own connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
SECRET = "kaiku-test-secret-key-for-live-processes-0123456789"
NO_LIMIT = "100000000"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_url(host: str | None = None, port: int | None = None) -> str:
    """The test database as a KAIKU_DATABASE_URL (PostgreSQL), optionally via a proxy."""
    settings = connection.settings_dict
    user = settings.get("USER") or "postgres"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = host or settings.get("HOST") or "127.0.0.1"
    port = port or int(settings.get("PORT") or 5432)
    return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"


def kaiku_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """A production environment (debug off) on the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAIKU_")}
    env.update(
        DJANGO_SETTINGS_MODULE="kaiku.settings",
        KAIKU_DEBUG="false",
        KAIKU_SECRET_KEY=SECRET,
        KAIKU_ALLOWED_HOSTS="127.0.0.1,localhost",
        KAIKU_DATABASE_URL=database_url(),
        KAIKU_DATA_DIR=str(data_dir),
        KAIKU_TASKS_BACKEND="django_tasks_db.DatabaseBackend",
        KAIKU_LOG_LEVEL="INFO",
        # Every request of a test comes from 127.0.0.1.
        KAIKU_RATE_LIMIT_IP_PER_MINUTE=NO_LIMIT,
        KAIKU_RATE_LIMIT_SURVEY_PER_MINUTE=NO_LIMIT,
        KAIKU_API_RATE_LIMIT_PER_MINUTE=NO_LIMIT,
    )
    env.update(extra)
    return env


class LiveProcess:
    """A subprocess whose combined output is kept (last lines shown on failure)."""

    name = "process"

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # a kill reaches granian's workers too
        )
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line.rstrip())

    def log(self, last: int = 40) -> str:
        return f"--- {self.name}\n" + "\n".join(self.lines[-last:])

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM the process group, SIGKILL it if it does not exit in time."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return self.kill()

    def kill(self) -> int:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.wait(timeout=20)


class WebProcess(LiveProcess):
    def __init__(self, env: dict[str, str], name: str = "web", processes: int = 1) -> None:
        self.name = name
        self.port = free_port()
        command = [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "wsgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(processes),
            "--blocking-threads",
            "1",
            "--no-ws",
            "kaiku.wsgi:application",
        ]
        super().__init__(command, env)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_until_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise AssertionError(f"{self.name} exited:\n{self.log()}")
            with contextlib.suppress(OSError):
                if http_get(self.url + "/healthz")[0] == 200:
                    return
            time.sleep(0.2)
        raise AssertionError(f"{self.name} did not become healthy:\n{self.log()}")


class WorkerProcess(LiveProcess):
    def __init__(self, env: dict[str, str], name: str, *extra: str) -> None:
        self.name = name
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
            *extra,
        ]
        super().__init__(command, env)

    def wait_until_started(self, timeout: float = 60) -> None:
        wait_for(
            lambda: any("Starting worker" in line for line in self.lines),
            timeout,
            lambda: f"{self.name} did not start:\n{self.log()}",
            give_up=lambda: not self.running(),
        )


def wait_for(
    condition: Callable[[], bool],
    timeout: float,
    message: Callable[[], str],
    give_up: Callable[[], bool] = lambda: False,
    every: float = 0.1,
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if give_up() or time.monotonic() > deadline:
            raise AssertionError(message())
        time.sleep(every)


# --- HTTP ------------------------------------------------------------------------------


def _request(
    method: str, url: str, body: bytes | None, headers: dict[str, str]
) -> tuple[int, dict[str, str], str]:
    rest = url.split("//", 1)[1]
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    conn = http.client.HTTPConnection(host, int(port or 80), timeout=30)
    try:
        conn.request(method, "/" + path, body=body, headers=headers)
        response = conn.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, headers, response.read().decode()
    finally:
        conn.close()


def http_get(url: str) -> tuple[int, dict[str, str], str]:
    return _request("GET", url, None, {})


def post_form(url: str, fields: dict[str, str]) -> tuple[int, dict[str, str], str]:
    body = urlencode(fields).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return _request("POST", url, body, headers)


def post_json(url: str, data: Any, token: str) -> tuple[int, dict[str, str], str]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    return _request("POST", url, json.dumps(data).encode(), headers)


# --- A TCP proxy that can be cut --------------------------------------------------------


class TcpProxy:
    """127.0.0.1:<port> → target, in a background asyncio loop; cut() and restore()."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.connections = 0  # accepted so far (reconnects show up here)

    def start(self) -> TcpProxy:
        self._thread.start()
        self.restore()
        return self

    def restore(self) -> None:
        """Listen again on the same port."""
        self._call(self._listen())

    def cut(self) -> None:
        """Stop listening and drop every open connection: the database is gone."""
        self._call(self._cut())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.cut()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            self._writers.discard(writer)
            writer.transport.abort()
