"""kaiku.insights' periodic jobs (run by the workers' schedulers, see kaiku.lib.periodic)."""

from __future__ import annotations

from datetime import timedelta

from kaiku.insights.reports import send_due_reports
from kaiku.insights.rollup import refresh_rollups
from kaiku.lib.periodic import periodic


@periodic(every=timedelta(minutes=5), name="insights.refresh_rollups")
def refresh_dashboard_rollups() -> None:
    """Roll up new days and days with new or edited answers (kaiku.insights.rollup)."""
    refresh_rollups()


@periodic(every=timedelta(days=1), name="insights.rebuild_rollups")
def rebuild_dashboard_rollups() -> None:
    """Rebuild every rollup: the incremental run cannot see deleted answers."""
    refresh_rollups(full=True)


@periodic(every=timedelta(hours=1), name="insights.send_due_reports")
def send_report_emails() -> None:
    """Weekly and monthly report emails, each claimed once (ReportSubscription.last_sent_on)."""
    send_due_reports()
