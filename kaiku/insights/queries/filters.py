"""`ResponseFilter`: which answers a page, an API call, an export or a report looks at.

Validated at the edge (`from_query`) and written back (`to_query`) so that a filtered dashboard
is a shareable URL. Dates are calendar days in the workspace's time zone, `until` inclusive.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.db.models import Q

from kaiku.responses.models import Channel

DEFAULT_DAYS = 365
MAX_DAYS = 366 * 10
GROUPS = ("low", "mid", "high")  # detractors / passives / promoters on NPS
# Snapshot property names; "@tenure" is the derived customer tenure (see expressions.Tenure).
PROPERTY_KEY = re.compile(r"^@?[A-Za-z0-9_][A-Za-z0-9_ .-]{0,63}$")
TENURE_KEY = "@tenure"
MAX_PROPERTY_FILTERS = 10
MAX_VALUE_LENGTH = 500
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})?$")


class QueryParams(Protocol):
    """A QueryDict, or anything else with the same two reads."""

    def get(self, key: str) -> str | None: ...
    def getlist(self, key: str) -> list[str]: ...


class FilterError(ValueError):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


def score_range(kind: str, scale_min: int, scale_max: int, group: str) -> range:
    """Scores of a group: NPS 0-6 / 7-8 / 9-10; CSAT bottom two / middle / top two boxes;
    CES below / at / above the midpoint (5-7 is "agree" on 1-7)."""
    if kind == "nps":
        return {"low": range(0, 7), "mid": range(7, 9), "high": range(9, 11)}[group]
    if kind == "csat":
        top, bottom = range(scale_max - 1, scale_max + 1), range(scale_min, scale_min + 2)
        middle = range(scale_min + 2, scale_max - 1)
        return {"low": bottom, "mid": middle, "high": top}[group]
    mid = (scale_min + scale_max) / 2
    return {
        "low": range(scale_min, int(mid - 0.5) + 1),
        "mid": range(int(mid), int(mid) + 1) if mid == int(mid) else range(0),
        "high": range(int(mid + 1), scale_max + 1),
    }[group]


@dataclass(frozen=True)
class ResponseFilter:
    since: date
    until: date  # inclusive
    channels: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    properties: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.until < self.since:
            raise FilterError("to", "The end date is before the start date.")
        if (self.until - self.since).days > MAX_DAYS:
            raise FilterError("from", "The date range is longer than ten years.")

    # --- time -------------------------------------------------------------------------------

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def previous(self) -> ResponseFilter:
        """The same filter over the equal period just before this one."""
        return replace(
            self,
            since=self.since - timedelta(days=self.days),
            until=self.since - timedelta(days=1),
        )

    def with_range(self, since: date, until: date) -> ResponseFilter:
        return replace(self, since=since, until=until)

    def utc_bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) in UTC: local midnight of `since` to local midnight after `until`."""
        return local_midnight(self.since, zone), local_midnight(
            self.until + timedelta(days=1), zone
        )

    # --- SQL --------------------------------------------------------------------------------

    def score_q(self, kind: str, scale_min: int, scale_max: int) -> Q:
        if not self.groups:
            return Q()
        scores: set[int] = set()
        for group in self.groups:
            scores.update(score_range(kind, scale_min, scale_max, group))
        return Q(score__in=sorted(scores))

    # --- query string -----------------------------------------------------------------------

    def to_query(self, **extra: str | Sequence[str] | None) -> str:
        """The filter as a query string (without "?"), plus `extra` parameters."""
        pairs: list[tuple[str, str]] = [
            ("from", self.since.isoformat()),
            ("to", self.until.isoformat()),
        ]
        pairs += [("channel", c) for c in self.channels]
        pairs += [("language", lang) for lang in self.languages]
        pairs += [("group", g) for g in self.groups]
        pairs += [("property", f"{k}:{v}") for k, v in self.properties]
        for name, value in extra.items():
            if value is None or value == "":
                continue
            values = [value] if isinstance(value, str) else list(value)
            pairs += [(name, v) for v in values]
        return urlencode(pairs)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready (stored with shared links and shown in reports)."""
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "channels": list(self.channels),
            "languages": list(self.languages),
            "groups": list(self.groups),
            "properties": [list(p) for p in self.properties],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ResponseFilter:
        def strings(name: str) -> tuple[str, ...]:
            value = data.get(name) or []
            return tuple(str(v) for v in value) if isinstance(value, list) else ()

        props = data.get("properties") or []
        pairs = (
            tuple((str(p[0]), str(p[1])) for p in props if isinstance(p, list) and len(p) == 2)
            if isinstance(props, list)
            else ()
        )
        return cls(
            since=date.fromisoformat(str(data["since"])),
            until=date.fromisoformat(str(data["until"])),
            channels=strings("channels"),
            languages=strings("languages"),
            groups=strings("groups"),
            properties=pairs,
        )

    @classmethod
    def from_query(cls, params: QueryParams, today: date) -> ResponseFilter:
        """Parse and validate; raises FilterError naming the parameter at fault."""
        until = _date(params.get("to"), "to") or today
        since = _date(params.get("from"), "from") or until - timedelta(days=DEFAULT_DAYS - 1)
        return cls(
            since=since,
            until=until,
            channels=_choices(params.getlist("channel"), set(Channel.values), "channel"),
            languages=_languages(params.getlist("language")),
            groups=_choices(params.getlist("group"), set(GROUPS), "group"),
            properties=_properties(params.getlist("property")),
        )


def default_filter(today: date) -> ResponseFilter:
    """The last DEFAULT_DAYS days up to today."""
    return ResponseFilter(since=today - timedelta(days=DEFAULT_DAYS - 1), until=today)


def today_in_zone(zone: ZoneInfo) -> date:
    return datetime.now(UTC).astimezone(zone).date()


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _date(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise FilterError(name, f"{text[:20]!r} is not a date like 2026-03-31.") from None


def _choices(values: list[str], allowed: set[str], name: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(v for v in values if v))
    unknown = [v for v in chosen if v not in allowed]
    if unknown:
        raise FilterError(name, f"Unknown {name}: {unknown[0][:40]!r}.")
    return chosen


def _languages(values: list[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(v for v in values if v))
    for value in chosen:
        if not LANGUAGE.match(value):
            raise FilterError("language", f"{value[:20]!r} is not a language code.")
    return chosen


def _properties(values: list[str]) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for raw in values:
        if not raw:
            continue
        key, sep, value = raw.partition(":")
        if not sep or not PROPERTY_KEY.match(key) or len(value) > MAX_VALUE_LENGTH:
            raise FilterError("property", "A property filter is name:value, e.g. plan:pro.")
        pairs.append((key, value))
    if len(pairs) > MAX_PROPERTY_FILTERS:
        raise FilterError("property", f"At most {MAX_PROPERTY_FILTERS} property filters.")
    return tuple(dict.fromkeys(pairs))
