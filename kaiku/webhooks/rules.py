"""Conditions of event rules: their one shape, their text form and their matching.

A condition is `{"property": "plan", "op": "eq", "value": "pro"}` with `op`
one of eq, neq, in (value: a list), exists (no value). Values compare as text,
case-insensitively (`5` matches `"5"`, `true` matches `"True"`), so rules
written by people match what helpdesks send. The rules page writes them one
per line: `plan eq pro`, `priority in high, urgent`, `vip exists`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from kaiku.contacts.models import MAX_PROPERTY_KEY, MAX_PROPERTY_VALUE

OPERATORS = ("eq", "neq", "in", "exists")
MAX_CONDITIONS = 10
MAX_IN_VALUES = 50
Scalar = str | int | float | bool


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and (
        not isinstance(value, str) or len(value) <= MAX_PROPERTY_VALUE
    )


def check_condition(condition: Any) -> None:
    if not isinstance(condition, dict) or set(condition) - {"property", "op", "value"}:
        raise ValidationError(_("A condition is an object with property, op and value."))
    name, op = condition.get("property"), condition.get("op")
    if not isinstance(name, str) or not 0 < len(name) <= MAX_PROPERTY_KEY:
        raise ValidationError(
            _("A condition's property is a name of 1 to %(max)d characters."),
            params={"max": MAX_PROPERTY_KEY},
        )
    if op not in OPERATORS:
        raise ValidationError(
            _("Unknown operator %(op)s; use one of %(ops)s."),
            params={"op": str(op)[:20], "ops": ", ".join(OPERATORS)},
        )
    value = condition.get("value")
    if op == "exists":
        return
    if op == "in":
        if not isinstance(value, list) or not value or len(value) > MAX_IN_VALUES:
            raise ValidationError(_("“in” needs a list of 1 to 50 values."))
        if not all(_is_scalar(item) for item in value):
            raise ValidationError(_("Condition values are short text, numbers or true/false."))
        return
    if not _is_scalar(value):
        raise ValidationError(_("Condition values are short text, numbers or true/false."))


def check_conditions(value: Any) -> None:
    """ValidationError unless `value` is a list of at most 10 valid conditions."""
    if not isinstance(value, list) or len(value) > MAX_CONDITIONS:
        raise ValidationError(
            _("Conditions are a list of at most %(max)d items."), params={"max": MAX_CONDITIONS}
        )
    for condition in value:
        check_condition(condition)


def normalise(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip().casefold()


def holds(condition: Mapping[str, Any], properties: Mapping[str, Any]) -> bool:
    name, op = condition["property"], condition["op"]
    present = name in properties and normalise(properties[name]) != ""
    actual = normalise(properties.get(name))
    if op == "exists":
        return present
    if op == "in":
        return present and actual in {normalise(v) for v in condition["value"]}
    equal = present and actual == normalise(condition["value"])
    return equal if op == "eq" else not equal


def matches(conditions: list[dict[str, Any]], properties: Mapping[str, Any]) -> bool:
    """All conditions hold (no conditions: always)."""
    return all(holds(condition, properties) for condition in conditions)


# --- The text form of the rules page ----------------------------------------------------


def to_text(conditions: list[dict[str, Any]]) -> str:
    lines = []
    for condition in conditions:
        op, value = condition["op"], condition.get("value")
        if op == "exists":
            lines.append(f"{condition['property']} exists")
        elif op == "in":
            values = ", ".join(normalise_text(v) for v in value or [])
            lines.append(f"{condition['property']} in {values}")
        else:
            lines.append(f"{condition['property']} {op} {normalise_text(value)}")
    return "\n".join(lines)


def normalise_text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def parse_text(text: str) -> list[dict[str, Any]]:
    """`plan eq pro` lines → conditions; ValidationError naming the first bad line."""
    conditions: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.strip().split(None, 2)
        condition = _parse_line(parts)
        if condition is None:
            raise ValidationError(
                _("Line %(n)d: write “property op value”, e.g. “plan eq pro”."),
                params={"n": number},
            )
        try:
            check_condition(condition)
        except ValidationError as exc:
            raise ValidationError(
                _("Line %(n)d: %(error)s"), params={"n": number, "error": exc.messages[0]}
            ) from None
        conditions.append(condition)
    check_conditions(conditions)
    return conditions


def _parse_line(parts: list[str]) -> dict[str, Any] | None:
    if len(parts) == 2 and parts[1] == "exists":
        return {"property": parts[0], "op": "exists"}
    if len(parts) != 3 or parts[1] not in OPERATORS or parts[1] == "exists":
        return None
    name, op, raw = parts
    if op == "in":
        return {
            "property": name,
            "op": op,
            "value": [v.strip() for v in raw.split(",") if v.strip()],
        }
    return {"property": name, "op": op, "value": raw.strip()}
