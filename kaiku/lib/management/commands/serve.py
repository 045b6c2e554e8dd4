"""`kaiku serve`: the web server plus a background worker, in one command.

`make run` uses this so a laptop install needs one terminal. In debug mode the
web server is Django's runserver (serves static files, readable errors); with
KAIKU_DEBUG=false it is granian, the production WSGI server.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve Kaiku with its background worker(s)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--workers", type=int, default=1, help="Background job workers to start (0 = none)."
        )
        parser.add_argument(
            "--web-processes",
            type=int,
            default=2,
            help="Web processes when KAIKU_DEBUG=false (granian).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # A service manager or `kill` stops us with SIGTERM, which would end this
        # process without the cleanup below and leave the workers running.
        signal.signal(signal.SIGTERM, _exit)
        workers = [self._start_worker(i) for i in range(options["workers"])]
        try:
            if settings.DEBUG:
                call_command(
                    "runserver", f"{options['host']}:{options['port']}", use_reloader=False
                )
            else:
                self._run_granian(options["host"], options["port"], options["web_processes"])
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                try:
                    worker.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.kill()

    def _start_worker(self, index: int) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            # --no-reload: db_worker reloads on code changes in debug mode by
            # forking a watcher child, which would outlive terminate() below.
            [
                sys.executable,
                "-m",
                "kaiku",
                "worker",
                "--no-reload",
                "--worker-id",
                f"serve-{index}",
            ]
        )
        self.stdout.write(f"Background worker {index} started (pid {process.pid})")
        threading.Thread(target=self._watch, args=(process, index), daemon=True).start()
        return process

    def _watch(self, process: subprocess.Popen[bytes], index: int) -> None:
        code = process.wait()
        if code not in (0, -signal.SIGTERM):
            self.stderr.write(f"Background worker {index} exited with code {code}")

    def _run_granian(self, host: str, port: int, processes: int) -> None:
        subprocess.run(  # noqa: S603
            [
                sys.executable,
                "-m",
                "granian",
                "--interface",
                "wsgi",
                "--host",
                host,
                "--port",
                str(port),
                "--workers",
                str(processes),
                # One blocking thread per process: SQLite writes serialise anyway,
                # and more threads only add p99 spikes (see docs/performance.md).
                "--blocking-threads",
                "1",
                "kaiku.wsgi:application",
            ],
            check=False,
        )


def _exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)
