"""The survey app's periodic jobs (kaiku.lib.periodic runs them in every worker).

They only claim rows and enqueue jobs; the sending happens in send jobs that
any worker may pick up, so one busy scheduler never limits throughput.
"""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module
from importlib.util import find_spec

from kaiku.lib.periodic import periodic
from kaiku.surveys import delivery


@periodic(every=timedelta(seconds=30), name="surveys.dispatch")
def dispatch_invitations() -> None:
    """Due invitations and reminders: claimed within each workspace's rate, then enqueued."""
    delivery.dispatch_due()


# Recurring waves register their own job (`@periodic` on run_due_waves) in
# kaiku/surveys/waves.py; importing it here is what registers it.
if find_spec("kaiku.surveys.waves") is not None:
    import_module("kaiku.surveys.waves")
