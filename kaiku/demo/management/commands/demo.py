"""`kaiku demo`: create a demo workspace with realistic, deterministic data.

The mix of answers depends only on --seed; their dates are relative to --now
(default: today in the demo's time zone), so a demo created today always has
answers up to yesterday. Tests pass a fixed --now to get identical rows.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from kaiku.accounts.models import Workspace
from kaiku.demo.generate import TIME_ZONE, generate_demo
from kaiku.demo.pipelines import run_pipelines


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--now must be a date like 2026-03-31, got {value!r}") from None


class Command(BaseCommand):
    help = "Create a demo workspace (owner demo@kaiku.local) with surveys, contacts and answers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing if any workspace exists (`make run` uses this to keep data).",
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument(
            "--contacts", type=int, default=1000, help="Number of contacts (default 1000)."
        )
        parser.add_argument(
            "--responses", type=int, default=3000, help="Number of answers (default 3000)."
        )
        parser.add_argument(
            "--password", help="The owner's password (default: a new random one, printed)."
        )
        parser.add_argument(
            "--now",
            type=_day,
            help="Date the history ends at, YYYY-MM-DD (default: today in Europe/Helsinki).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Workspace.objects.exists():
            self.stdout.write("A workspace already exists: leaving the data as it is (--if-empty).")
            return
        if options["contacts"] < 1 or options["responses"] < 0:
            raise CommandError("--contacts must be at least 1 and --responses at least 0")
        today = options["now"] or timezone.now().astimezone(ZoneInfo(TIME_ZONE)).date()
        started = time.monotonic()
        result = generate_demo(
            today=today,
            seed=options["seed"],
            contacts=options["contacts"],
            responses=options["responses"],
            password=options["password"],
        )
        self.stdout.write(
            f"Created {result.workspace.name!r} (/w/{result.workspace.slug}/): "
            f"{result.contacts} contacts, {result.responses} answers up to {today:%Y-%m-%d}, "
            f"seed {options['seed']}, dip in {result.dip_quarter} "
            f"({time.monotonic() - started:.1f} s)."
        )
        pipelines = run_pipelines(result.workspace)
        self.stdout.write(
            f"Themes assigned to {pipelines.themed_answers} comments; "
            f"{pipelines.cases} follow-up cases opened from the last week's answers."
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo workspace ready: {settings.SITE_URL}/  "
                f"login {result.email} / {result.password}"
            )
        )
