"""kaiku.lib's periodic jobs (run by the workers' schedulers, see kaiku.lib.periodic)."""

from __future__ import annotations

from datetime import timedelta

from kaiku.lib import ratelimit
from kaiku.lib.periodic import periodic


@periodic(every=timedelta(minutes=5), name="lib.prune_rate_counters")
def prune_rate_counters() -> None:
    """Rate-limit counters of finished windows are dead weight on every hit's index."""
    ratelimit.prune()
