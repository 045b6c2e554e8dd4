"""What every importer shares: source rows, their checks, and the report of rejected rows.

A format (Delighted CSV or JSON, Formbricks CSV, any CSV) only turns its input
into `SourceRow`s; `check_row` then applies the same rules `record_response`
applies to a live answer (score within the survey's scale, comment and
properties cleaned and bounded, no future dates) and either returns a
`ValidRow` or raises `RowRejected` with a reason the report shows by row number.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from kaiku.contacts.actions import MAX_EXTERNAL_ID, MAX_NAME, MAX_PHONE, normalise_language
from kaiku.responses.actions import (
    MAX_CLOCK_SKEW,
    MAX_KEY_LENGTH,
    AnswerRejected,
    clean_comment,
    clean_properties,
)
from kaiku.surveys.models import Survey

# Rows reported one by one in an ImportRun (the counts per reason are always exact):
# a million bad rows must not become a million-entry JSON value.
MAX_REPORTED_ROWS = 1000
MAX_SOURCE_ID = 120

_interpolate = lazy(lambda template, params: str(template) % params, str)
_SCORE = re.compile(r"\s*([+-]?[0-9]+)(?:\.0*)?\s*")
_EPOCH = re.compile(r"[0-9]{9,13}(?:\.[0-9]+)?")
# Date formats tried after ISO 8601, in order. Slashed dates are refused:
# 03/04/2025 is March in the US and April in Finland, and guessing corrupts data.
_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S %z",  # Ruby/Rails exports (Delighted): 2025-03-04 10:22:13 -0800
    "%Y-%m-%d %H:%M:%S %Z",  # 2025-03-04 10:22:13 UTC
    "%Y-%m-%d %H:%M %z",
    "%d.%m.%Y %H:%M:%S",  # Finnish and Estonian spreadsheets
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
)


class RowRejected(Exception):
    """A row that cannot be imported; `code` groups the report, `message` explains."""

    def __init__(self, field: str, code: str, message: StrOrPromise) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.code = code
        self.message = message


@dataclass(slots=True)
class SourceRow:
    """One answer (or contact) as a format found it; values not yet checked."""

    row: int  # what the report calls it: the spreadsheet row (header = 1), or the JSON item
    response_id: str = ""
    score: Any = None
    created_at: Any = None
    comment: Any = None
    email: str = ""
    external_id: str = ""
    name: str = ""
    phone: str = ""
    language: str = ""
    properties: dict[str, Any] = field(default_factory=dict)
    # The source's survey type (Delighted's survey_type), checked against the survey's kind.
    kind: str = ""
    # Set by a format that could not read the item at all (e.g. a broken JSON line).
    problem: str = ""


@dataclass(slots=True)
class ValidRow:
    row: int
    key: str
    source_ref: str
    score: int
    created_at: datetime
    comment: str
    language: str
    properties: dict[str, Any]
    email: str | None
    external_id: str | None
    name: str
    phone: str

    @property
    def identity(self) -> tuple[str, str] | None:
        """How the writer finds the contact: by external id first, else by email."""
        if self.external_id:
            return ("external_id", self.external_id)
        if self.email:
            return ("email", self.email)
        return None


@dataclass(frozen=True)
class RowContext:
    """What checking a row needs besides the row: the survey, a clock, a zone, a secret."""

    survey: Survey | None  # None: a contacts-only import
    source: str  # the key prefix: delighted, formbricks, csv
    secret: str  # keys rows without an id (see row_key)
    zone: tzinfo = UTC  # for dates written without an offset
    date_format: str = ""
    now: datetime = field(default_factory=timezone.now)


@dataclass
class Report:
    """Rejected rows: exact counts per reason, the first MAX_REPORTED_ROWS in detail."""

    counts: dict[str, int] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return sum(self.counts.values())

    def add(self, row: int, exc: RowRejected) -> None:
        self.add_entry(row, exc.field, exc.code, str(exc.message))

    def add_entry(self, row: int, field: str, code: str, reason: str) -> None:
        self.counts[code] = self.counts.get(code, 0) + 1
        if len(self.rows) < MAX_REPORTED_ROWS:
            self.rows.append({"row": row, "field": field, "code": code, "reason": reason})


# --- Parsing cells -------------------------------------------------------------------


def parse_score(value: Any, survey: Survey) -> int:
    if isinstance(value, bool):
        raise RowRejected("score", "invalid_score", _("The score must be a whole number."))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        if not value.strip():
            raise RowRejected("score", "missing_score", _("The score is empty."))
        match = _SCORE.fullmatch(value)
        if match is None:
            raise RowRejected(
                "score",
                "invalid_score",
                _interpolate(_("%(value)s is not a whole number."), {"value": value[:40]}),
            )
        value = int(match.group(1))
    if value is None:
        raise RowRejected("score", "missing_score", _("The score is empty."))
    if not isinstance(value, int):
        raise RowRejected("score", "invalid_score", _("The score must be a whole number."))
    if not survey.scale_min <= value <= survey.scale_max:
        raise RowRejected(
            "score",
            "out_of_scale",
            _interpolate(
                _("The score %(score)d is outside the survey's scale %(lo)d–%(hi)d."),
                {"score": value, "lo": survey.scale_min, "hi": survey.scale_max},
            ),
        )
    return value


def parse_date(value: Any, context: RowContext) -> datetime:
    """An aware datetime from ISO text, a known export format, or Unix seconds/milliseconds."""
    parsed = _parse_date(value, context.date_format)
    if parsed is None:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise RowRejected("created_at", "missing_date", _("The date is empty."))
        raise RowRejected(
            "created_at",
            "invalid_date",
            _interpolate(
                _("%(value)s is not a date Kaiku understands (use ISO 8601: 2025-03-04 10:22)."),
                {"value": str(value)[:40]},
            ),
        )
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=context.zone)
    if parsed > context.now + MAX_CLOCK_SKEW:
        raise RowRejected("created_at", "future_date", _("The date is in the future."))
    return parsed


def _parse_date(value: Any, date_format: str) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_epoch(float(value))
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if date_format:
        formats: tuple[str, ...] = (date_format,)
    else:
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
        if _EPOCH.fullmatch(text):
            return _from_epoch(float(text))
        formats = _DATE_FORMATS
    for fmt in formats:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _from_epoch(seconds: float) -> datetime | None:
    if seconds > 1e11:  # milliseconds (JavaScript exports)
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


# --- Checking a row --------------------------------------------------------------------


def check_row(source: SourceRow, context: RowContext) -> ValidRow:
    """The row with every value checked and cleaned, or RowRejected."""
    if source.problem:
        raise RowRejected("row", "unreadable", source.problem)
    survey = context.survey
    if survey is None:
        score, created_at = 0, context.now
    else:
        _check_kind(source.kind, survey)
        score = parse_score(source.score, survey)
        created_at = parse_date(source.created_at, context)
    email, external_id, name, phone = _check_contact(source)
    if survey is None and not (email or external_id):
        raise RowRejected(
            "email", "missing_contact", _("An email address or an external id is required.")
        )
    try:
        comment = clean_comment(source.comment if source.comment is not None else "") or ""
        properties = _cleaned_properties(_drop_blank(source.properties))
    except AnswerRejected as exc:
        raise RowRejected(exc.field, f"invalid_{exc.field}", exc.message) from None
    response_id = str(source.response_id or "").strip()[:MAX_SOURCE_ID]
    return ValidRow(
        row=source.row,
        key=row_key(context, response_id, score, created_at, comment, email, external_id),
        source_ref=f"{context.source}:{response_id}" if response_id else context.source,
        score=score,
        created_at=created_at,
        comment=comment,
        language=normalise_language(source.language),
        properties=properties,
        email=email,
        external_id=external_id,
        name=name,
        phone=phone,
    )


# Survey types other tools name, as Kaiku's kinds; anything else cannot be imported.
KINDS = {"nps": "nps", "enps": "nps", "csat": "csat", "ces": "ces"}


def _check_kind(kind: str, survey: Survey) -> None:
    if kind and KINDS.get(kind.strip().lower()) != survey.kind:
        raise RowRejected(
            "survey_type",
            "survey_type",
            _interpolate(
                _("A %(kind)s answer cannot go into a %(survey_kind)s survey."),
                {"kind": kind[:20], "survey_kind": survey.get_kind_display()},
            ),
        )


# Results of the slower checks, by input: an export repeats the same customers
# and the same few segment combinations thousands of times. Bounded: cleared when full.
_CACHE_LIMIT = 100_000
_valid_emails: dict[str, bool] = {}
_clean_properties: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}


def _is_email(email: str) -> bool:
    known = _valid_emails.get(email)
    if known is None:
        try:
            validate_email(email)
            known = True
        except ValidationError:
            known = False
        if len(_valid_emails) >= _CACHE_LIMIT:
            _valid_emails.clear()
        _valid_emails[email] = known
    return known


def _cleaned_properties(properties: dict[str, Any]) -> dict[str, Any]:
    """clean_properties with a cache. The result is shared: callers must not change it."""
    try:
        key = tuple(properties.items())
        cached = _clean_properties.get(key)
    except TypeError:  # a list or object value (JSON imports): not cacheable
        return clean_properties(properties)
    if cached is None:
        cached = clean_properties(properties)
        if len(_clean_properties) >= _CACHE_LIMIT:
            _clean_properties.clear()
        _clean_properties[key] = cached
    return cached


def _check_contact(source: SourceRow) -> tuple[str | None, str | None, str, str]:
    email = (source.email or "").strip().lower() or None
    if email is not None and not _is_email(email):
        raise RowRejected(
            "email",
            "invalid_email",
            _interpolate(_("%(value)s is not a valid email address."), {"value": email[:100]}),
        )
    external_id = (source.external_id or "").strip() or None
    name, phone = (source.name or "").strip(), (source.phone or "").strip()
    for field_name, value, limit in (
        ("external_id", external_id or "", MAX_EXTERNAL_ID),
        ("name", name, MAX_NAME),
        ("phone", phone, MAX_PHONE),
    ):
        if len(value) > limit:
            raise RowRejected(
                field_name,
                f"invalid_{field_name}",
                _interpolate(_("Longer than %(max)d characters."), {"max": limit}),
            )
    return email, external_id, name, phone


def _drop_blank(properties: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in properties.items() if value is not None and value != ""}


def row_key(
    context: RowContext,
    response_id: str,
    score: int,
    created_at: datetime,
    comment: str,
    email: str | None,
    external_id: str | None,
) -> str:
    """The idempotency key: the same source row gives the same key on every run.

    With the source's response id: `import:<source>:<id>` (Delighted's CSV and
    JSON exports share ids, so importing both creates nothing twice). Without
    one (a plain CSV), a keyed hash of what makes the answer: the workspace
    secret keeps emails from being guessable from keys.
    """
    if response_id:
        scope = f"s{context.survey.pk}:" if context.source == "csv" and context.survey else ""
        return f"import:{context.source}:{scope}{response_id}"[:MAX_KEY_LENGTH]
    survey_id = context.survey.pk if context.survey else 0
    material = "\x1f".join(
        (
            str(survey_id),
            str(score),
            created_at.isoformat(),
            comment,
            email or "",
            external_id or "",
        )
    )
    digest = hmac.new(context.secret.encode(), material.encode(), hashlib.sha256).hexdigest()
    return f"import:{context.source}:h:{digest[:40]}"
