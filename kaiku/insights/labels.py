"""Translatable labels for the values `kaiku.metrics` returns as codes."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# NPS benchmark bands from the seed article (kaiku.metrics.band).
BAND_LABELS: dict[str, Promise] = {
    "needs_improvement": _("Needs improvement"),
    "acceptable": _("Acceptable"),
    "good": _("Good"),
    "excellent": _("Excellent"),
    "world_class": _("World class"),
}

# What the headline figure of each survey kind is.
METRIC_LABELS: dict[str, Promise] = {
    "nps": _("NPS"),
    "csat": _("CSAT (% satisfied)"),
    "ces": _("CES (mean)"),
}

# Score groups per survey kind (the filter's low / mid / high).
GROUP_LABELS: dict[str, dict[str, Promise]] = {
    "nps": {
        "low": _("Detractors (0–6)"),
        "mid": _("Passives (7–8)"),
        "high": _("Promoters (9–10)"),
    },
    "csat": {"low": _("Dissatisfied"), "mid": _("Neutral"), "high": _("Satisfied")},
    "ces": {"low": _("Disagree"), "mid": _("Neutral"), "high": _("Agree")},
}

SEGMENT_LABELS: dict[str, Promise] = {
    "channel": _("Channel"),
    "language": _("Language"),
    "@tenure": _("Customer tenure"),
}

TENURE_LABELS: dict[str, Promise] = {
    "new": _("New (under 3 months)"),
    "3-12m": _("3–12 months"),
    "1-2y": _("1–2 years"),
    "2y+": _("2 years or more"),
}


def group_labels(kind: str) -> dict[str, Promise]:
    return GROUP_LABELS.get(kind, GROUP_LABELS["nps"])


def segment_label(name: str) -> Promise | str:
    """A breakdown's heading: built-in names translated, properties as they are named."""
    return SEGMENT_LABELS.get(name, name)
