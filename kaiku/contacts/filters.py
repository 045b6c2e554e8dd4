"""Which contacts: one filter shared by the contacts list, the send dialog and waves.

A filter lives in three shapes, all validated by `parse_filter`:

- the query string of the contacts list and the send dialog (shareable links):
  `?q=&language=fi&prop=plan&op=eq&val=pro&prop=seats&op=gt&val=10
  &last_surveyed_before=90&never_responded=1&survey=12`
  (`prop`, `op` and `val` repeat, one triple per property condition);
- a JSON-able dict, stored in `Wave.contact_filter` and given to `filter_contacts`;
- the `ContactFilter` dataclass the code works with.

Property conditions work the same on SQLite and PostgreSQL: text matches are
case-insensitive on the value as text (`->>` / JSON_EXTRACT), `gt`/`lt`
compare numbers with numbers and text with text (checked with the value's JSON
type, because the two databases order mixed types differently), and `missing`
also matches a JSON null.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db.models import (
    CharField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    JSONField,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.fields.json import (
    KeyTransform,
    KeyTransformGt,
    KeyTransformIContains,
    KeyTransformIExact,
    KeyTransformLt,
)
from django.db.models.lookups import Exact, In, IsNull
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from kaiku.accounts.models import SUPPORTED_LANGUAGES, Workspace
from kaiku.contacts.models import MAX_PROPERTY_KEY, MAX_PROPERTY_VALUE, Contact

OPERATORS = ("eq", "neq", "contains", "in", "exists", "missing", "gt", "lt")
OPERATOR_LABELS: dict[str, StrOrPromise] = {
    "eq": _("is"),
    "neq": _("is not"),
    "contains": _("contains"),
    "in": _("is one of"),
    "exists": _("is set"),
    "missing": _("is not set"),
    "gt": _("is greater than"),
    "lt": _("is less than"),
}
VALUELESS = frozenset({"exists", "missing"})
MAX_CONDITIONS = 10
MAX_SEARCH = 200
MAX_DAYS = 3650
_NUMBER = re.compile(r"^-?(0|[1-9][0-9]{0,14})(\.[0-9]{1,10})?$")
# JSON types as the two databases name them (SQLite json_type / PostgreSQL jsonb_typeof).
_NUMERIC_TYPES = ("integer", "real", "number")
_TEXT_TYPES = ("text", "string")


class FilterError(ValidationError):
    """The filter cannot be used; `messages` says why, one line per problem."""


@dataclass(frozen=True)
class PropertyCondition:
    name: str
    op: str
    value: str = ""

    def values(self) -> list[str]:
        """`in` takes a comma-separated list; the other operators one value."""
        if self.op == "in":
            return [part.strip() for part in self.value.split(",") if part.strip()]
        return [self.value]


@dataclass(frozen=True)
class ContactFilter:
    q: str = ""
    language: str = ""
    properties: tuple[PropertyCondition, ...] = ()
    # Not surveyed (no invitation sent) for this many days, or since this date;
    # contacts never surveyed match too.
    last_surveyed_before: int | date | None = None
    never_responded: bool = False
    # Scopes never_responded to one survey; None means any survey.
    survey: int | None = None
    errors: tuple[str, ...] = field(default=(), compare=False)

    @property
    def is_empty(self) -> bool:
        return self == ContactFilter()

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form stored in Wave.contact_filter."""
        data: dict[str, Any] = {}
        if self.q:
            data["q"] = self.q
        if self.language:
            data["language"] = self.language
        if self.properties:
            data["properties"] = [
                {"name": c.name, "op": c.op, "value": c.value} for c in self.properties
            ]
        if self.last_surveyed_before is not None:
            data["last_surveyed_before"] = str(self.last_surveyed_before)
        if self.never_responded:
            data["never_responded"] = True
        if self.survey is not None:
            data["survey"] = self.survey
        return data

    def to_query_string(self) -> str:
        pairs: list[tuple[str, str]] = []
        if self.q:
            pairs.append(("q", self.q))
        if self.language:
            pairs.append(("language", self.language))
        for condition in self.properties:
            pairs += [("prop", condition.name), ("op", condition.op), ("val", condition.value)]
        if self.last_surveyed_before is not None:
            pairs.append(("last_surveyed_before", str(self.last_surveyed_before)))
        if self.never_responded:
            pairs.append(("never_responded", "1"))
        if self.survey is not None:
            pairs.append(("survey", str(self.survey)))
        return urlencode(pairs)


QUERY_KEYS = frozenset(
    {"q", "language", "prop", "op", "val", "last_surveyed_before", "never_responded", "survey"}
)


def from_query_string(query: QueryDict | str) -> dict[str, Any]:
    """The filter dict a query string spells; `parse_filter` validates it.

    Other parameters (page, status …) are ignored, so the filter can share a URL.
    """
    if isinstance(query, str):
        query = QueryDict(query)
    names, ops, values = query.getlist("prop"), query.getlist("op"), query.getlist("val")
    conditions = []
    for index, name in enumerate(names):
        op = ops[index] if index < len(ops) else ""
        value = values[index] if index < len(values) else ""
        if name.strip() or value.strip():
            conditions.append({"name": name, "op": op, "value": value})
    data: dict[str, Any] = {
        key: query.get(key, "")
        for key in ("q", "language", "last_surveyed_before", "never_responded", "survey")
    }
    data["properties"] = conditions
    return data


# --- Validation ------------------------------------------------------------------


def parse_filter(params: Mapping[str, Any] | None) -> ContactFilter:
    """A validated ContactFilter, or FilterError listing every problem."""
    params = params or {}
    errors: list[StrOrPromise] = []
    q = _text(params.get("q"))[:MAX_SEARCH]
    language = _text(params.get("language"))
    if language and language not in SUPPORTED_LANGUAGES:
        errors.append(
            _("Unknown language %(code)s; use one of %(codes)s.")
            % {"code": language[:10], "codes": ", ".join(SUPPORTED_LANGUAGES)}
        )
    conditions = _conditions(params.get("properties"), errors)
    last = _last_surveyed(params.get("last_surveyed_before"), errors)
    never = _boolean(params.get("never_responded"))
    survey = _survey_id(params.get("survey"), errors)
    if errors:
        raise FilterError([str(message) for message in errors])
    return ContactFilter(q, language, conditions, last, never, survey)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return _text(value).lower() in ("1", "true", "on", "yes")


def _conditions(raw: Any, errors: list[StrOrPromise]) -> tuple[PropertyCondition, ...]:
    if raw in (None, ""):
        return ()
    if not isinstance(raw, list | tuple):
        errors.append(_("Property conditions must be a list."))
        return ()
    if len(raw) > MAX_CONDITIONS:
        errors.append(_("At most %(max)d property conditions.") % {"max": MAX_CONDITIONS})
        return ()
    found = []
    for position, item in enumerate(raw, start=1):
        condition = _condition(item, position, errors)
        if condition is not None:
            found.append(condition)
    return tuple(found)


def _condition(item: Any, position: int, errors: list[StrOrPromise]) -> PropertyCondition | None:
    if not isinstance(item, Mapping):
        errors.append(_("Property condition %(n)d is not valid.") % {"n": position})
        return None
    name, op = _text(item.get("name")), _text(item.get("op"))
    value = item.get("value")
    value = str(value).strip() if isinstance(value, str | int | float) else ""
    where = {"n": position, "name": name[:MAX_PROPERTY_KEY]}
    if not name or len(name) > MAX_PROPERTY_KEY:
        errors.append(
            _("Property condition %(n)d needs a property name of 1 to %(max)d characters.")
            % {"n": position, "max": MAX_PROPERTY_KEY}
        )
        return None
    if name.isdigit():
        # Django's JSON key lookups read an all-digit key as an array index.
        errors.append(
            _("Property condition %(n)d: names of digits only cannot be filtered.") % where
        )
        return None
    if op not in OPERATORS:
        errors.append(_("Property condition %(n)d (%(name)s) has an unknown operator.") % where)
        return None
    if op in VALUELESS:
        return PropertyCondition(name, op)
    if not value:
        errors.append(_("Property condition %(n)d (%(name)s) needs a value.") % where)
        return None
    if len(value) > MAX_PROPERTY_VALUE:
        errors.append(_("Property condition %(n)d (%(name)s) has a value too long.") % where)
        return None
    return PropertyCondition(name, op, value)


def _last_surveyed(raw: Any, errors: list[StrOrPromise]) -> int | date | None:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    text = _text(raw)
    if not text:
        return None
    if text.isdigit():
        days = int(text)
        if 0 < days <= MAX_DAYS:
            return days
    else:
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    errors.append(
        _("“Not surveyed since” takes a number of days (1 to %(max)d) or a date like 2025-01-31.")
        % {"max": MAX_DAYS}
    )
    return None


def _survey_id(raw: Any, errors: list[StrOrPromise]) -> int | None:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    text = _text(raw)
    if not text:
        return None
    if text.isdigit():
        return int(text)
    errors.append(_("Choose a survey from the list."))
    return None


# --- Querying ------------------------------------------------------------------------


def filter_contacts(workspace: Workspace, params: Mapping[str, Any] | None) -> QuerySet[Contact]:
    """The workspace's contacts matching `params` (a filter dict); FilterError if invalid."""
    return apply_filter(workspace, parse_filter(params))


def apply_filter(
    workspace: Workspace, contact_filter: ContactFilter, *, now: datetime | None = None
) -> QuerySet[Contact]:
    from kaiku.responses.models import Response
    from kaiku.surveys.models import Invitation, Survey

    contacts = Contact.objects.filter(workspace=workspace)
    f = contact_filter
    if f.q:
        contacts = contacts.filter(
            Q(email__icontains=f.q) | Q(name__icontains=f.q) | Q(external_id__icontains=f.q)
        )
    if f.language:
        contacts = contacts.filter(language=f.language)
    for condition in f.properties:
        contacts = contacts.filter(property_q(condition))
    if f.last_surveyed_before is not None:
        cutoff = _cutoff(workspace, f.last_surveyed_before, now or timezone.now())
        recent = Invitation.objects.filter(contact=OuterRef("pk"), sent_at__gte=cutoff)
        contacts = contacts.filter(~Exists(recent))
    if f.never_responded:
        answers = Response.objects.filter(contact=OuterRef("pk"))
        if f.survey is not None:
            if not Survey.objects.filter(workspace=workspace, pk=f.survey).exists():
                raise FilterError([str(_("Choose a survey from the list."))])
            answers = answers.filter(survey_id=f.survey)
        contacts = contacts.filter(~Exists(answers))
    return contacts


def _cutoff(workspace: Workspace, before: int | date, now: datetime) -> datetime:
    if isinstance(before, int):
        return now - timedelta(days=before)
    # A date means midnight at the start of that day where the team works.
    return datetime.combine(before, time.min, tzinfo=workspace.tzinfo)


class JsonType(Func):
    """The JSON type of `properties[key]`: NULL when the key is missing, 'null' for null."""

    output_field = CharField()

    def __init__(self, column: str, key: str) -> None:
        super().__init__(F(column))
        self.key = key

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.source_expressions[0])
        # The same path Django builds for object keys: $."key" (quoted, any characters).
        return f"JSON_TYPE({sql}, %s)", [*params, "$." + json.dumps(self.key)]

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"JSONB_TYPEOF({sql} -> %s)", [*params, self.key]


def property_q(condition: PropertyCondition, column: str = "properties") -> Q:
    """A Q object for one property condition; works for any property name."""
    name, op = condition.name, condition.op
    kind = JsonType(column, name)
    if op == "exists":
        return Q(In(kind, [*_NUMERIC_TYPES, *_TEXT_TYPES, "true", "false", "boolean"]))
    if op == "missing":
        return Q(IsNull(kind, True)) | Q(Exact(kind, Value("null")))
    # The wrapper gives the key a JSONField source, so right-hand values are
    # adapted as JSON exactly as with `properties__<name>` keyword lookups.
    key = KeyTransform(name, ExpressionWrapper(F(column), output_field=JSONField()))
    if op in ("eq", "in"):
        return _any_equal(key, condition.values())
    if op == "neq":
        return property_q(PropertyCondition(name, "missing"), column) | (
            property_q(PropertyCondition(name, "exists"), column)
            & ~_any_equal(key, condition.values())
        )
    if op == "contains":
        return Q(KeyTransformIContains(key, condition.value))
    lookup = KeyTransformGt if op == "gt" else KeyTransformLt
    if _NUMBER.match(condition.value):
        number = float(condition.value) if "." in condition.value else int(condition.value)
        return Q(In(kind, list(_NUMERIC_TYPES))) & Q(lookup(key, number))
    return Q(In(kind, list(_TEXT_TYPES))) & Q(lookup(key, condition.value))


def _any_equal(key: KeyTransform, values: Iterable[str]) -> Q:
    q = Q()
    for value in values:
        q |= Q(KeyTransformIExact(key, value))
    return q


def describe_filter(contact_filter: ContactFilter, survey_names: Mapping[int, str]) -> list[str]:
    """The filter in words, one condition per item (wave lists, the send dialog)."""
    f = contact_filter
    parts: list[str] = []
    if f.q:
        parts.append(str(_("matching “%(q)s”") % {"q": f.q}))
    if f.language:
        parts.append(str(_("language %(code)s") % {"code": f.language.upper()}))
    for c in f.properties:
        value = "" if c.op in VALUELESS else f" {c.value}"
        parts.append(f"{c.name} {OPERATOR_LABELS[c.op]}{value}")
    if isinstance(f.last_surveyed_before, int):
        parts.append(str(_("not surveyed in %(days)d days") % {"days": f.last_surveyed_before}))
    elif f.last_surveyed_before is not None:
        parts.append(
            str(_("not surveyed since %(date)s") % {"date": f.last_surveyed_before.isoformat()})
        )
    if f.never_responded:
        name = survey_names.get(f.survey) if f.survey is not None else None
        parts.append(
            str(_("never responded to %(name)s") % {"name": name})
            if name
            else str(_("never responded"))
        )
    return parts
