"""One HTTP POST to a webhook receiver, defensively (stdlib http.client only).

- Only http/https, and only to the addresses netguard just checked: the socket
  is connected to that exact IP (the Host header and TLS SNI/certificate check
  still use the host name), so DNS rebinding cannot redirect the request.
- Redirects are never followed: http.client does not follow them, and a 3xx
  is reported as a failure.
- One deadline for the whole request (connect, TLS, send, answer): a watchdog
  shuts the socket down when it passes, so a receiver that trickles its answer
  a byte at a time cannot hold a worker longer than the timeout.
- At most 1 KiB of the answer is read; Kaiku only needs the status.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from kaiku.webhooks.netguard import IPAddress, Target, UnsafeUrl, allowed_addresses, parse_url

MAX_ANSWER_BYTES = 1024
USER_AGENT = "Kaiku-Webhooks/1"


@dataclass(frozen=True)
class HttpResult:
    status_code: int | None
    duration_ms: int
    error: str = ""
    # The URL itself is refused (bad scheme, private address): retrying cannot help.
    refused: bool = False
    retry_after: int | None = None


class _Deadline:
    """Shuts `sock` down when the time is up, which unblocks any read or write on it."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._seconds = seconds
        self._sock: socket.socket | None = None
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        self._sock = sock
        if self.expired:
            self._expire()

    def _expire(self) -> None:
        self.expired = True
        if self._sock is not None:
            with contextlib.suppress(OSError):  # already closed
                self._sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> HttpResult:
    """POST `body` to `url`; never raises for network trouble, reports it in the result."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = parse_url(url)
        addresses = allowed_addresses(target)
    except UnsafeUrl as exc:
        return HttpResult(None, elapsed(), exc.reason, refused=exc.permanent)
    deadline = _Deadline(timeout)
    deadline.start()
    try:
        status, retry_after = _exchange(target, addresses, body, headers, timeout, deadline)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if deadline.expired or isinstance(exc, TimeoutError | socket.timeout):
            return HttpResult(None, elapsed(), f"Timed out after {timeout:g} s.")
        return HttpResult(None, elapsed(), _describe(exc))
    finally:
        deadline.cancel()
    return HttpResult(status, elapsed(), retry_after=retry_after)


def _exchange(
    target: Target,
    addresses: list[IPAddress],
    body: bytes,
    headers: Mapping[str, str],
    timeout: float,
    deadline: _Deadline,
) -> tuple[int, int | None]:
    sock = _connect(target, addresses, timeout, deadline)
    connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    connection.sock = sock  # already connected to the checked address: no second lookup
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "Connection": "close",
                **headers,
            },
        )
        answer = connection.getresponse()
        answer.read(MAX_ANSWER_BYTES)
        return answer.status, _retry_after(answer.getheader("Retry-After"))
    finally:
        connection.close()


def _connect(
    target: Target, addresses: list[IPAddress], timeout: float, deadline: _Deadline
) -> socket.socket:
    last_error: OSError = OSError("no address to connect to")
    for address in addresses:
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        deadline.watch(sock)
        try:
            sock.connect((str(address), target.port))
        except OSError as exc:
            sock.close()
            last_error = exc
            if deadline.expired:
                raise
            continue
        if target.scheme == "https":
            context = ssl.create_default_context()
            tls = context.wrap_socket(sock, server_hostname=target.host)
            deadline.watch(tls)
            return tls
        return sock
    raise last_error


def _retry_after(value: str | None) -> int | None:
    if value and value.strip().isdigit():
        return int(value.strip())
    return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted: {exc.verify_message}"
    if isinstance(exc, ConnectionRefusedError):
        return "Connection refused."
    if isinstance(exc, http.client.RemoteDisconnected):
        return "The receiver closed the connection without answering."
    text = str(exc) or type(exc).__name__
    return text[:300]
