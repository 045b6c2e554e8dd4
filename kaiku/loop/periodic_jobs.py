"""The loop's periodic jobs (kaiku.lib.periodic runs each once per slot across all workers).

They only claim rows (conditional updates, unique rows) and queue the sends,
so a slow mail server never holds up a worker's scheduler.
"""

from __future__ import annotations

from datetime import timedelta

from kaiku.lib.periodic import periodic
from kaiku.loop import alerts, daily, drops, resurvey


@periodic(every=timedelta(minutes=5), name="loop.overdue")
def sweep_overdue_cases() -> None:
    """One reminder when a case passes its due time, then one escalation to the admins."""
    alerts.sweep_overdue()


@periodic(every=timedelta(minutes=15), name="loop.resurveys")
def sweep_resurveys() -> None:
    resurvey.sweep_resurveys()


@periodic(every=timedelta(minutes=15), name="loop.drops")
def check_significant_drops() -> None:
    """Once a day per survey, from the daily hour in the workspace's time zone."""
    drops.check_drops()


@periodic(every=timedelta(minutes=15), name="loop.digests")
def send_digests() -> None:
    daily.send_due_digests()
