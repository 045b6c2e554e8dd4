"""The analytics query layer: the database counts, `kaiku.metrics` does the statistics.

Every figure on a screen, in the metrics API, in exports and in reports starts as a histogram
of score counts (count per score value, 11 slots indexed by score) aggregated by the database,
grouped by what the view needs. Python only turns histograms into statistics. Individual
answers are never loaded to compute a figure.

- `ResponseFilter` (filters.py): what the page, the API or a report looks at, validated at the
  edge and round-tripped through the query string.
- `histograms()` (grouped.py): one query for several groupings at once (UNION ALL of GROUP BYs),
  each keyed by a `Grouping`: local day in the workspace's zone, channel, language, a contact
  property from the answer's snapshot, or the derived customer tenure.
- `score_histograms()` (base.py): the first screen's per-survey counts.
- buckets.py turns daily histograms into ISO weeks, months, quarters and rolling windows.
"""

from kaiku.insights.queries.base import SLOTS, Key, empty_histogram, score_histograms

__all__ = ["SLOTS", "Key", "empty_histogram", "score_histograms"]
