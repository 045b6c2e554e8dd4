"""Customer retention: the period rate, by cohort, and per NPS group.

CRR = 100·(E - N)/S with S customers at the start, E at the end and N new during the period.
From lifecycle dates it is better computed by cohort: of the customers active at the start, how
many are still active at the end. That is what E - N means, except that a new customer who
churned within the period would otherwise drop out of E but not of N and distort the rate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from kaiku.metrics.proportions import wilson_interval


def crr(start: int, end: int, new: int) -> float:
    """Customer Retention Rate in points: 100·(E - N)/S."""
    if start <= 0:
        raise ValueError("the retention of no customers is undefined")
    if min(end, new) < 0:
        raise ValueError("customer counts cannot be negative")
    return 100.0 * (end - new) / start


@dataclass(frozen=True)
class Lifecycle:
    """When a customer became one, and when (if ever) they churned. Dates or datetimes."""

    customer_since: date
    churned_at: date | None = None

    def active_at(self, moment: date) -> bool:
        """A customer since before ``moment`` who had not churned by then."""
        return self.customer_since <= moment and (
            self.churned_at is None or self.churned_at > moment
        )


@dataclass(frozen=True)
class Retention:
    """Of ``at_start`` customers active at the start, ``retained`` were active at the end."""

    at_start: int
    retained: int

    @property
    def rate(self) -> float | None:
        """Retention in points, None without customers at the start."""
        return 100.0 * self.retained / self.at_start if self.at_start else None

    def ci(self, confidence: float = 0.95) -> tuple[float, float] | None:
        """Wilson interval of the rate, in points."""
        if not self.at_start:
            return None
        lo, hi = wilson_interval(self.retained, self.at_start, confidence)
        return 100.0 * lo, 100.0 * hi


def cohort_retention(customers: Iterable[Lifecycle], start: date, end: date) -> Retention:
    """Retention over [start, end] of the cohort active at ``start``; newcomers are ignored.

    Also answers "does NPS predict churn?": call it once per NPS group of customers.
    """
    if end < start:
        raise ValueError(f"period ends ({end}) before it starts ({start})")
    at_start = retained = 0
    for customer in customers:
        if customer.active_at(start):
            at_start += 1
            retained += customer.active_at(end)
    return Retention(at_start=at_start, retained=retained)
