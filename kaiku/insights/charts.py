"""Chart data for dashboard.js (via json_script), and server-side SVG for the PDF report.

WeasyPrint does not run JavaScript, so the printable report draws its charts here, from the
same numbers, as small hand-written SVG: a line with its 95% interval band, and bars.
"""

from __future__ import annotations

from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from kaiku.insights.dashboard import Dashboard, headline_value


def chart_data(board: Dashboard) -> dict[str, Any]:
    points = []
    for row in board.trend:
        value, ci = headline_value(board.kind, row)
        change = row.get("change") or {}
        points.append(
            {
                "label": row["period"],
                "value": value,
                "lo": ci[0] if ci else None,
                "hi": ci[1] if ci else None,
                "n": row["n"],
                "lowBase": row["low_base"],
                "significant": bool(change.get("significant")),
            }
        )
    return {
        "kind": board.kind,
        "trend": points,
        "distribution": board.distribution,
        "text": {
            "value": str(_("Score")),
            "ci": str(_("95% CI")),
            "n": str(_("Answers")),
            "lowBase": str(_("low base")),
            "significant": str(_("significant change")),
            "answers": str(_("Answers")),
        },
        "range": [-100, 100]
        if board.kind == "nps"
        else ([0, 100] if board.kind == "csat" else None),
    }


def svg_trend(board: Dashboard, width: int = 640, height: int = 220) -> SafeString:
    """The trend as SVG: the interval as a grey band, the figure as a line, n under each point."""
    points = chart_data(board)["trend"]
    usable = [p for p in points if p["value"] is not None and p["lo"] is not None]
    if not usable:
        return mark_safe("")
    low = min(p["lo"] for p in usable)
    high = max(p["hi"] for p in usable)
    if high - low < 1e-9:
        high, low = high + 1, low - 1
    left, right, top, bottom = 44, 30, 12, 36
    step = (width - left - right) / max(1, len(points) - 1)

    def x(i: int) -> float:
        return left + (step * i if len(points) > 1 else (width - left - right) / 2)

    def y(v: float) -> float:
        return top + (high - v) / (high - low) * (height - top - bottom)

    indexed = [(i, p) for i, p in enumerate(points) if p in usable]
    band = " ".join(f"{x(i):.1f},{y(p['hi']):.1f}" for i, p in indexed)
    band += " " + " ".join(f"{x(i):.1f},{y(p['lo']):.1f}" for i, p in reversed(indexed))
    line = " ".join(f"{x(i):.1f},{y(p['value']):.1f}" for i, p in indexed)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(_("Trend"))}">',
        f'<polygon points="{band}" fill="#dbe4f7"/>',
        f'<polyline points="{line}" fill="none" stroke="#2454d6" stroke-width="2"/>',
    ]
    for tick in (low, (low + high) / 2, high):
        parts.append(
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" font-size="10" text-anchor="end">'
            f"{tick:.0f}</text>"
        )
    for i, p in indexed:
        colour = "#9aa3ad" if p["lowBase"] else "#2454d6"
        radius = 4.5 if p["significant"] else 3
        parts.append(
            f'<circle cx="{x(i):.1f}" cy="{y(p["value"]):.1f}" r="{radius}" fill="{colour}"/>'
        )
    for i, p in enumerate(points):
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - 20}" font-size="9" text-anchor="middle">'
            f"{escape(p['label'])}</text>"
            f'<text x="{x(i):.1f}" y="{height - 8}" font-size="8" fill="#5b6470" '
            f'text-anchor="middle">n={p["n"]}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - numbers and escaped labels only


def svg_distribution(board: Dashboard, width: int = 640, height: int = 140) -> SafeString:
    bars = board.distribution
    peak = max((b["count"] for b in bars), default=0) or 1
    slot = (width - 20) / max(1, len(bars))
    colours = {"low": "#e0796e", "mid": "#c9ced6", "high": "#3fa36b"}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(_("Distribution"))}">'
    ]
    for i, b in enumerate(bars):
        h = (height - 30) * b["count"] / peak
        x = 10 + i * slot
        parts.append(
            f'<rect x="{x + 3:.1f}" y="{height - 18 - h:.1f}" width="{slot - 6:.1f}" '
            f'height="{h:.1f}" fill="{colours[b["group"]]}"/>'
            f'<text x="{x + slot / 2:.1f}" y="{height - 5}" font-size="10" '
            f'text-anchor="middle">{b["score"]}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - numbers only
