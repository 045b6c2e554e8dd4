"""Sample a running web process with py-spy and say where request time goes.

py-spy (PyPI) attaches to the granian worker from outside, so the profile is of the real
server under the real load, at ~250 samples/s with little overhead. Samples that are not
inside a Django request (the worker's idle main thread) are dropped; waiting on the database
counts (`--idle`), because a request that waits is a request the process is not serving.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench import markdown_table

REQUEST_FRAME = ("WSGIHandler.__call__", "django/core/handlers/wsgi.py")
WORKER_FRAME = ("Worker.run", "db_worker.py")

# (label, function, file): where time can go, by a frame that marks it (inclusive shares,
# so nested markers overlap). Files are path suffixes: py-spy shortens some paths.
Marker = tuple[str, str, str]
REQUEST_MARKERS: list[Marker] = [
    ("rate limits (kaiku.lib.ratelimit)", "hit_in_turn", "kaiku/lib/ratelimit.py"),
    ("API key lookup and auth", "ApiKeyAuth.authenticate", "kaiku/api/auth.py"),
    ("survey lookup (views)", "_public", "kaiku/responses/views.py"),
    ("record_response()", "record_response", "kaiku/responses/actions.py"),
    ("· its transaction (commit)", "Atomic.__exit__", "django/db/transaction.py"),
    ("· webhook event check", "emit_response_event", "kaiku/webhooks/events.py"),
    ("· processing queued (outbox row)", "queue_processing", "kaiku/responses/outbox.py"),
    ("language negotiation", "negotiate_language", "kaiku/responses/pages.py"),
    # Must stay 0%: comment language detection (lingua) and themes run in the worker.
    ("comment language detection", "detect_comment_language", "kaiku/responses/language.py"),
    ("theme assignment", "assign_themes", "kaiku/themes/assignment.py"),
    ("request parsing (POST body)", "HttpRequest._load_post_and_files", "django/http/request.py"),
    ("new DB connection", "BaseDatabaseWrapper.connect", "django/db/backends/base/base.py"),
    ("DB driver execute (all queries)", "CursorWrapper._execute", "django/db/backends/utils.py"),
]
WORKER_MARKERS: list[Marker] = [
    ("send job (deliver_invitations)", "deliver_invitations", "kaiku/surveys/delivery.py"),
    ("· rendering the email", "EmailRenderer.render", "kaiku/surveys/emails.py"),
    ("· building the MIME message", "EmailMessage.message", "django/core/mail/message.py"),
    ("· SMTP conversation (smtplib)", "SMTP.sendmail", "smtplib.py"),
    ("· marking rows sent", "_mark_invitation", "kaiku/surveys/delivery.py"),
    ("· reading the batch", "_invitations", "kaiku/surveys/delivery.py"),
    ("dispatcher (claims)", "dispatch_due", "kaiku/surveys/delivery.py"),
    ("job queue (fetch, claim, finish)", "Worker.run_task", "db_worker.py"),
    ("DB driver execute (all queries)", "CursorWrapper._execute", "django/db/backends/utils.py"),
]


def available() -> bool:
    return shutil.which("py-spy") is not None or (Path(sys.executable).parent / "py-spy").exists()


def _py_spy() -> str:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else "py-spy"


def record(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes]:
    """Start sampling `pid` for `seconds` (returns at once; wait() on the process)."""
    return subprocess.Popen(
        [
            _py_spy(),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(seconds),
            "--rate",
            "250",
            "--format",
            "raw",
            "--nolineno",
            "--idle",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _matches(frame: str, marker: tuple[str, str]) -> bool:
    function, path = marker
    # Some py-spy versions qualify methods with their class (WSGIHandler.__call__), others not.
    name = frame.partition(" (")[0]
    return name in (function, function.rpartition(".")[2]) and frame.endswith(path + ")")


def _stacks(path: Path, within: tuple[str, str]) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if any(_matches(frame, within) for frame in frames):
            stacks.append((frames, int(count)))
    return stacks


def summarise(
    path: Path,
    markers: list[Marker] = REQUEST_MARKERS,
    within: tuple[str, str] = REQUEST_FRAME,
    top: int = 12,
) -> str:
    """Markdown: inclusive share of each marker, then the heaviest leaf frames."""
    stacks = _stacks(path, within)
    total = sum(count for _frames, count in stacks)
    if not total:
        return "_py-spy recorded no samples of interest._"
    inclusive = Counter[str]()
    leaves = Counter[str]()
    for frames, count in stacks:
        for label, function, file in markers:
            if any(_matches(frame, (function, file)) for frame in frames):
                inclusive[label] += count
        leaves[_short(frames[-1])] += count
    rows = [[label, f"{100 * inclusive[label] / total:.0f}%"] for label, _f, _p in markers]
    leaf_rows = [[frame, f"{100 * n / total:.1f}%"] for frame, n in leaves.most_common(top)]
    return (
        f"{total:,} samples.\n\n"
        + markdown_table(["where (inclusive)", "share of the time"], rows)
        + "\n\nHeaviest leaf frames (self time):\n\n"
        + markdown_table(["frame", "share"], leaf_rows)
    )


def _short(frame: str) -> str:
    name, _, where = frame.partition(" (")
    parts = where.rstrip(")").split("/")
    return f"{name} ({'/'.join(parts[-2:])})"
