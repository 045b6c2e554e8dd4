"""Customer Satisfaction (CSAT): the share of top-2-box answers, a proportion."""

from __future__ import annotations

from collections.abc import Sequence

# "Satisfied" is the top two boxes on any scale: 4-5 on the standard 1-5 question.
TOP_BOXES = 2


def satisfied_count(counts: Sequence[int]) -> int:
    """Answers in the top two boxes; counts run from the scale's lowest score to its highest."""
    return sum(counts[-TOP_BOXES:])


def csat(satisfied: int, n: int) -> float:
    """CSAT in points: 100·satisfied/n. (The mean score may be shown, but it is not CSAT.)"""
    if n <= 0:
        raise ValueError("the CSAT of no answers is undefined")
    return 100.0 * satisfied / n
