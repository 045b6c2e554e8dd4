"""Run wrk (Debian's `wrk`, C, one thread) with bench/ingest.lua and read what it saw.

wrk leaves the server most of the 2 cores: a Python generator would need about a core of
its own at these rates. Its own CPU time is measured and reported all the same.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "ingest.lua"


@dataclass
class LoadResult:
    seconds: float
    requests: int
    errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    sent: int = 0  # answers whose request wrk wrote
    statuses: Counter[int] = field(default_factory=Counter)
    acks: list[str] = field(default_factory=list)  # Location or id of each acknowledged answer
    wrk_cpu: float = 0.0

    @property
    def acked(self) -> int:
        return len(self.acks)

    @property
    def answers_per_second(self) -> float:
        return self.acked / self.seconds if self.seconds else 0.0


def available() -> bool:
    return shutil.which("wrk") is not None


def run(
    url: str,
    *,
    mode: str,
    prefix: str,
    seconds: float,
    workdir: Path,
    connections: int = 16,
    survey: int = 0,
    token: str = "",
) -> LoadResult:
    """POST answers to `url` for `seconds`."""
    out = workdir / f"wrk-{prefix}.txt"
    env = {
        **os.environ,
        "KAIKU_WRK_MODE": mode,
        "KAIKU_WRK_PATH": "/" + url.split("/", 3)[3],
        "KAIKU_WRK_PREFIX": prefix,
        "KAIKU_WRK_SURVEY": str(survey),
        "KAIKU_WRK_TOKEN": token,
        "KAIKU_WRK_OUT": str(out),
    }
    base = url.split("/", 3)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            str(SCRIPT),
            f"{base[0]}//{base[2]}",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = parse(out.read_text())
    result.wrk_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def parse(text: str) -> LoadResult:
    result: LoadResult | None = None
    statuses: Counter[int] = Counter()
    acks: list[str] = []
    sent = 0
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        values = rest.split()
        if kind == "summary":
            duration, requests, *errors = (int(v) for v in values)
            names = ("connect", "read", "write", "status", "timeout")
            result = LoadResult(
                duration / 1e6, requests, dict(zip(names, errors, strict=True)), 0, 0, 0, 0
            )
        elif kind == "latency" and result is not None:
            result.p50_ms, result.p90_ms, result.p99_ms, result.max_ms = (
                int(v) / 1000 for v in values
            )
        elif kind == "thread":
            sent += int(values[1])
        elif kind == "status":
            statuses[int(values[0])] += int(values[1])
        elif kind == "ack":
            acks.append(rest)
    if result is None:
        raise RuntimeError(f"wrk wrote no summary:\n{text[:2000]}")
    result.sent, result.statuses, result.acks = sent, statuses, acks
    return result
