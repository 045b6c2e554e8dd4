"""`kaiku serve` (what `make run` runs): web server plus a background worker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(line) for line in out.stdout.split()]


def _wait_for_http(url: str, deadline: float) -> int:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return int(response.status)
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer in time")


@pytest.mark.skipif(sys.platform != "linux", reason="uses ps --ppid")
# SIGINT: Ctrl+C in `make run`; SIGTERM: `kill`, or a service manager stopping it.
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_answers_and_stops_its_worker(tmp_path: Path, stop: signal.Signals) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAIKU_")}
    env |= {"KAIKU_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "kaiku.settings"}
    kaiku = [sys.executable, "-m", "kaiku"]
    subprocess.run([*kaiku, "migrate", "--no-input"], env=env, check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen(
        [*kaiku, "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        status = _wait_for_http(f"http://127.0.0.1:{port}/accounts/login/", time.monotonic() + 60)
        assert status == 200
        workers = _children(server.pid)
        assert len(workers) == 1, "one background worker runs beside the web server"
        server.send_signal(stop)
        server.wait(timeout=30)
        time.sleep(0.5)
        assert not any(Path(f"/proc/{pid}").exists() for pid in workers), "worker left behind"
    finally:
        if server.poll() is None:
            server.kill()
