"""kaiku.lib's one table: the rate-limit counters (kaiku.lib.ratelimit, database store)."""

from __future__ import annotations

from django.db import models


class RateCounter(models.Model):
    """Hits of one key in one fixed window; written only by ratelimit's UPSERT.

    Unlogged on PostgreSQL (migration 0001): losing a minute of counts in a
    crash is harmless, and a hit then commits without a WAL flush.
    """

    # "rl:<sha256 prefix of scope and key>:<window start>"
    key = models.CharField(max_length=64, primary_key=True)
    hits = models.PositiveIntegerField(default=0)
    # Unix seconds; `lib.prune_rate_counters` deletes rows past it (a scan of a
    # small table every few minutes: no index, so each hit updates one B-tree).
    expires_at = models.BigIntegerField()

    class Meta:
        db_table = "kaiku_rate_counter"

    def __str__(self) -> str:
        return f"{self.key}: {self.hits}"
