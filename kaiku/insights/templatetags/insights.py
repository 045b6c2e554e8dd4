"""Template helpers for figures: value with its interval, formatted for the survey's kind."""

from __future__ import annotations

from typing import Any

from django import template

from kaiku.insights.dashboard import headline_value

register = template.Library()


@register.inclusion_tag("insights/_figure.html")
def figure(stats: dict[str, Any] | None, kind: str, compact: bool = False) -> dict[str, Any]:
    """A figure with its 95% CI and n; nothing below 5 answers; greyed when low base."""
    if not stats:
        return {"hidden": True, "n": 0}
    value, ci = headline_value(kind, stats)
    places = 2 if kind == "ces" else 1
    return {
        "hidden": stats["n"] < 5 or value is None,
        "n": stats["n"],
        "value": value,
        "ci": ci,
        "places": places,
        "percent": kind == "csat",
        "low_base": stats["low_base"],
        "compact": compact,
    }


@register.filter
def value_of(stats: dict[str, Any] | None, kind: str) -> Any:
    return None if not stats else headline_value(kind, stats)[0]


@register.filter
def pval(value: object) -> str:
    """A p- or q-value as shown: rounded to 4 decimals, so 0 means below 0.0001."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return "< 0.0001" if value == 0 else f"{value:.4f}".rstrip("0").rstrip(".")


@register.filter
def get(mapping: Any, key: Any) -> Any:
    try:
        return mapping[key]
    except (KeyError, IndexError, TypeError):
        return None
