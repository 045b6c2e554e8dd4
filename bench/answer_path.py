"""The answer path in one process: time per answer through Django's WSGI handler, no HTTP.

The same three targets as bench/ingestion.py (the one-insert ceiling view, the
public link POST, the API POST), called in-process through `WSGIHandler` in
alternating rounds, so that no load generator, socket or scheduler adds noise:
what a change to the answer path is worth shows here first. SQLite and
PostgreSQL, one process each; the rate limits are set so high they never refuse.

Standalone: `python -m bench answer_path` (settings: `-o answer_path.requests=2000
-o answer_path.rounds=5 -o answer_path.engines=sqlite,postgres`).
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from bench import Context, _stack, benchmark, markdown_table

TARGETS = ("ceiling", "public", "api")


@benchmark("answer_path", "The answer path in one process vs the one-insert ceiling", order=51)
def run(ctx: Context) -> str:
    requests = int(ctx.option("answer_path.requests", "300" if ctx.quick else "2000"))
    rounds = int(ctx.option("answer_path.rounds", "2" if ctx.quick else "5"))
    engines = ctx.option("answer_path.engines", "sqlite,postgres").split(",")
    rows = []
    for engine in engines:
        with _stack.bench_database(engine, "kaiku_bench_path", ctx.workdir) as url:
            env = _stack.kaiku_env(url, ctx.workdir / f"path-{engine}")
            _stack.kaiku(env, "migrate", "--no-input")
            _stack.kaiku(env, "collectstatic", "--no-input")
            found = _stack.python_module(
                env, "bench.answer_path", "measure", str(requests), str(rounds)
            )
        rows += _rows(engine, json.loads(found))
    header = (
        f"{rounds} rounds of {requests:,} requests per target, alternating; the median round. "
        "Time per answer in one process (CPU-bound: no other work runs)."
    )
    headers = ["engine", "target", "ms per answer", "vs ceiling (ceiling time / this)"]
    return f"{header}\n\n{markdown_table(headers, rows)}"


def _rows(engine: str, ms: dict[str, float]) -> list[list[str]]:
    return [
        [engine, target, f"{ms[target]:.3f}", f"{ms['ceiling'] / ms[target]:.0%}"]
        for target in TARGETS
    ]


# --- In the subprocess: `python -m bench.answer_path measure N ROUNDS` -----------------------


def measure(requests: int, rounds: int) -> dict[str, float]:
    from bench.ingestion import setup_site  # sets Django up

    site = setup_site()
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    from kaiku.lib.handlers import application

    kaiku = application()  # what kaiku.wsgi serves: the cookie-less stack for these routes
    with override_settings(ROOT_URLCONF="bench.ceiling.urls", MIDDLEWARE=[]):
        ceiling = WSGIHandler()
    senders = {
        "ceiling": _sender(ceiling, f"/ceiling/{site['workspace']}/{site['survey']}/", "form"),
        "public": _sender(kaiku, f"/s/{site['public_id']}/", "form"),
        "api": _sender(kaiku, "/api/v1/responses", "api", site),
    }
    times: dict[str, list[float]] = {target: [] for target in TARGETS}
    counter = iter(range(10**9))
    for round_number in range(rounds + 1):  # round 0 warms up (imports, caches)
        for target, send in senders.items():
            urls = override_settings(ROOT_URLCONF="bench.ceiling.urls", MIDDLEWARE=[])
            with urls if target == "ceiling" else nullcontext():
                start = time.perf_counter()
                for _ in range(requests):
                    send(next(counter))
                elapsed = time.perf_counter() - start
            if round_number:
                times[target].append(1000 * elapsed / requests)
    return {target: statistics.median(values) for target, values in times.items()}


def _sender(
    handler: Any, path: str, mode: str, site: dict[str, Any] | None = None
) -> Callable[[int], None]:
    expected = {"form": ("201", "303"), "api": ("201",)}[mode]

    def send(n: int) -> None:
        nonce = f"path{os.getpid():07d}{n:010d}"
        if mode == "api":
            assert site is not None
            body = json.dumps({"survey": site["survey"], "score": 9, "idempotency_key": nonce})
            extra = {"HTTP_AUTHORIZATION": f"Bearer {site['token']}"}
            content_type = "application/json"
        else:
            body, extra = f"score=9&lang=en&nonce={nonce}", {}
            content_type = "application/x-www-form-urlencoded"
        statuses: list[str] = []
        handler(
            _environ(path, body.encode(), content_type, extra),
            lambda status, headers: statuses.append(status),
        )
        if not statuses[0].startswith(expected):
            raise RuntimeError(f"{path}: HTTP {statuses[0]}")

    return send


def _environ(path: str, body: bytes, content_type: str, extra: dict[str, str]) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        **extra,
    }


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "measure":
        print(json.dumps(measure(int(argv[1]), int(argv[2]))))
        return 0
    print("usage: python -m bench.answer_path measure REQUESTS ROUNDS", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
