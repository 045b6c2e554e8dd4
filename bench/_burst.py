"""A burst of N answers with exact accounting: every answer is sent until acknowledged.

wrk (bench/_wrk.py) is the better load generator but cannot resend: when a keep-alive
connection drops under load, the request on it is simply gone, so "N sent" is not
"N reached the server". This client does what a real one does: on a connection error
it reconnects and sends the *same* answer again (same nonce, which makes a repeat one
answer on the server). Asyncio, raw HTTP/1.1 keep-alive, C connections; Python, so it
costs the server some CPU (measured and reported).
"""

from __future__ import annotations

import asyncio
import resource
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from bench._wrk import LoadResult


@dataclass
class _State:
    pending: list[int]
    acks: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    resends: int = 0


def run(url: str, *, prefix: str, answers: int, connections: int = 16) -> LoadResult:
    """POST `answers` public-link answers (ids prefix + t1n%08d, like bench/ingest.lua)."""
    state = _State(pending=list(range(answers, 0, -1)))
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    asyncio.run(_all(url, prefix, state, connections))
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    return _result(state, seconds, answers, after, before)


async def _all(url: str, prefix: str, state: _State, connections: int) -> None:
    await asyncio.gather(*(_connection(url, prefix, state) for _ in range(connections)))


async def _connection(url: str, prefix: str, state: _State) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    while state.pending:
        number = state.pending.pop()
        request = _request(parts.path, host, port, f"{prefix}t1n{number:08d}")
        while True:  # until this answer is acknowledged
            try:
                if streams is None:
                    streams = await asyncio.open_connection(host, port)
                sent = time.perf_counter()
                streams[1].write(request)
                status, location = await _response(streams[0])
                state.latencies.append(time.perf_counter() - sent)
                break
            except (OSError, asyncio.IncompleteReadError, ValueError):
                state.resends += 1
                streams = None
                await asyncio.sleep(0.05)
        state.statuses[status] = state.statuses.get(status, 0) + 1
        if status == 303:
            state.acks.append(location)
        elif status == 429 or status >= 500:  # not now: the same answer goes back
            state.pending.append(number)
            state.resends += 1
    if streams is not None:
        streams[1].close()


def _request(path: str, host: str, port: int, nonce: str) -> bytes:
    body = urlencode({"score": "9", "lang": "en", "nonce": nonce}).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _response(reader: asyncio.StreamReader) -> tuple[int, str]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in head[1:] if line)
    }
    if headers.get("transfer-encoding", "").lower() == "chunked":
        await _skip_chunks(reader)
    else:
        await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("location", "")


async def _skip_chunks(reader: asyncio.StreamReader) -> None:
    while True:
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        await reader.readexactly(size + 2)
        if size == 0:
            return


def _result(
    state: _State,
    seconds: float,
    answers: int,
    after: resource.struct_rusage,
    before: resource.struct_rusage,
) -> LoadResult:
    latencies = sorted(state.latencies) or [0.0]

    def pct(p: float) -> float:
        return 1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))]

    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result = LoadResult(
        seconds,
        len(state.latencies),
        {"resent": state.resends},
        pct(0.50),
        pct(0.90),
        pct(0.99),
        1000 * latencies[-1],
        sent=answers,
        acks=state.acks,
    )
    result.statuses.update(state.statuses)
    result.wrk_cpu = cpu
    return result
