"""An SMTP sink in its own process for bench/dispatch.py: aiosmtpd that counts and dedupes.

    python -m bench._smtp_sink PORT STATS.json

Accepts every message, finds the invitation token in its links, and on SIGTERM (or
SIGINT) writes {"messages", "unique", "duplicates", "first", "last"} (Unix times of the
first and last message) to STATS.json. Its own process, so that the sink's CPU is not
the workers' and the workers talk to it over real TCP.
"""

from __future__ import annotations

import json
import re
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

TOKEN = re.compile(rb"/r/([A-Za-z0-9_-]+)/\?score=")


class Sink:
    def __init__(self) -> None:
        self.tokens: Counter[bytes] = Counter()
        self.messages = 0
        self.first = 0.0
        self.last = 0.0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        found = TOKEN.search(content if isinstance(content, bytes) else content.encode())
        with self.lock:
            now = time.time()
            self.first = self.first or now
            self.last = now
            self.messages += 1
            self.tokens[found.group(1) if found else b"?"] += 1
        return "250 Message accepted for delivery"

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "messages": self.messages,
                "unique": len(self.tokens),
                "duplicates": sum(n - 1 for n in self.tokens.values() if n > 1),
                "first": self.first,
                "last": self.last,
            }


def main(port: int, out: Path) -> None:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_args: stopped.set())
    (out.parent / (out.name + ".ready")).write_text("ready")
    while not stopped.wait(0.5):
        out.write_text(json.dumps(sink.stats()))
    controller.stop()
    out.write_text(json.dumps(sink.stats()))


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
