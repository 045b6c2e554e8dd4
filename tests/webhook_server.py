"""A real HTTP server that receives webhooks in tests (http.server in a thread, 127.0.0.1).

It behaves like a careful receiver: it answers from a script of behaviours
(status codes, sleeps, redirects), records every request, and deduplicates by
the event id in the body, as docs/webhooks.md tells receivers to::

    with WebhookReceiver(script=[500, "sleep:3", 200]) as receiver:
        ...                                  # POSTs to receiver.url
        receiver.requests                    # every request, in order
        receiver.accepted_ids                # ids answered 2xx, in order (dups kept)
        receiver.processed_ids               # ids acted on, once each (dedup by id)

A script item is an HTTP status (int), "sleep:<seconds>" (then 200),
"redirect" (302 to /elsewhere) or "close" (drop the connection). Once the script
runs out, `default` answers. Nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int | str
    at: float = field(default_factory=time.time)

    def json(self) -> Any:
        return json.loads(self.body)


def _event_id(record: Received) -> str:
    body = record.json()
    return str(body.get("id") or body.get("event_id"))


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        receiver = self.server.receiver
        behaviour = receiver.next_behaviour()
        record = Received(self.path, dict(self.headers.items()), body, behaviour)
        receiver.arrived(record)
        try:
            self._answer(record, behaviour)
        finally:
            receiver.done()

    def _answer(self, record: Received, behaviour: int | str) -> None:
        if isinstance(behaviour, str) and behaviour.startswith("sleep:"):
            time.sleep(float(behaviour.split(":", 1)[1]))
            behaviour = 200
        if behaviour == "close":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if behaviour == "redirect":
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status = int(behaviour)
        if 200 <= status < 300:
            # Processed before answering, as a receiver does: a client that gave
            # up waiting (timeout) will send the same event id again.
            self.server.receiver.accept(record)
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        with contextlib.suppress(BrokenPipeError):  # the client timed out and left
            self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: WebhookReceiver


class WebhookReceiver:
    def __init__(self, script: list[int | str] | None = None, default: int | str = 200) -> None:
        self.script = list(script or [])
        self.default = default
        self.requests: list[Received] = []
        self.accepted_ids: list[str] = []
        self.processed_ids: list[str] = []
        self._lock = threading.Lock()
        self._in_flight = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/kaiku"

    def next_behaviour(self) -> int | str:
        with self._lock:
            return self.script.pop(0) if self.script else self.default

    def arrived(self, record: Received) -> None:
        with self._lock:
            self.requests.append(record)
            self._in_flight += 1

    def done(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def accept(self, record: Received) -> None:
        event_id = _event_id(record)
        with self._lock:
            self.accepted_ids.append(event_id)
            if event_id not in self.processed_ids:  # the receiver's dedup by event id
                self.processed_ids.append(event_id)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Until no request is being answered (a slow one may outlive the client's timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._in_flight == 0:
                    return
            time.sleep(0.02)
        raise AssertionError("the webhook receiver is still busy")

    def ids_seen(self) -> list[str]:
        """The event id of every request, in order (retries included)."""
        return [_event_id(r) for r in self.requests]

    def start(self) -> WebhookReceiver:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self.wait_idle()
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
