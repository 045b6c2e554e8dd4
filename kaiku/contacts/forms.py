"""Forms of the contacts pages: input parsing at the edge, rules in actions.py and importer.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from kaiku.accounts.models import SUPPORTED_LANGUAGES, Membership
from kaiku.contacts.filters import (
    OPERATOR_LABELS,
    ContactFilter,
    FilterError,
    PropertyCondition,
    from_query_string,
    parse_filter,
)
from kaiku.contacts.importer import FIELDS, IGNORE, PROPERTY, CsvTable, parse_value
from kaiku.contacts.models import MAX_PROPERTIES, MAX_PROPERTY_KEY, MAX_PROPERTY_VALUE, Contact
from kaiku.surveys.models import Survey

LANGUAGE_CHOICES = [("", _("Unknown")), *[(code, code.upper()) for code in SUPPORTED_LANGUAGES]]
EXTRA_PROPERTY_ROWS = 3
EXTRA_FILTER_ROWS = 2


@dataclass(frozen=True)
class PropertyRow:
    name: str
    value: str


def display_value(value: Any) -> str:
    """A stored property as the form shows it: JSON spelling for true/false/empty."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return str(value)


def _lists(data: Any, name: str) -> list[str]:
    """A repeated form field's values (QueryDict.getlist); [] for plain dicts."""
    getlist = getattr(data, "getlist", None)
    return list(getlist(name)) if getlist else []


class ContactForm(forms.Form):
    """One contact. Properties come as parallel `prop_name` / `prop_value` lists."""

    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    email = forms.EmailField(label=_("Email address"), max_length=254, required=False)
    external_id = forms.CharField(
        label=_("External id"),
        max_length=128,
        required=False,
        help_text=_("Your system's id for this person, e.g. a customer number."),
    )
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGE_CHOICES, required=False)

    def __init__(self, *args: Any, contact: Contact | None = None, **kwargs: Any) -> None:
        if contact is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": contact.name,
                "email": contact.email or "",
                "external_id": contact.external_id or "",
                "phone": contact.phone,
                "language": contact.language,
            }
        super().__init__(*args, **kwargs)
        self.contact = contact
        self.properties: dict[str, Any] = {}
        self.property_errors: list[str] = []

    def property_rows(self) -> list[PropertyRow]:
        if self.is_bound:
            names, values = _lists(self.data, "prop_name"), _lists(self.data, "prop_value")
            rows = [
                PropertyRow(n, v) for n, v in zip(names, values, strict=False) if n.strip() or v
            ]
        elif self.contact is not None:
            rows = [PropertyRow(k, display_value(v)) for k, v in self.contact.properties.items()]
        else:
            rows = []
        return rows + [PropertyRow("", "")] * EXTRA_PROPERTY_ROWS

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        names, values = _lists(self.data, "prop_name"), _lists(self.data, "prop_value")
        for raw_name, raw_value in zip(names, values, strict=False):
            self._add_property(raw_name.strip(), raw_value.strip())
        if len(self.properties) > MAX_PROPERTIES:
            self.property_errors.append(
                str(_("At most %(max)d properties are allowed.") % {"max": MAX_PROPERTIES})
            )
        if self.property_errors:
            raise forms.ValidationError(self.property_errors)
        if not cleaned.get("email") and not cleaned.get("external_id"):
            self.add_error("email", _("An email address or an external id is required."))
        cleaned["properties"] = self.properties
        return cleaned

    def _add_property(self, name: str, value: str) -> None:
        if not name and not value:
            return
        if not name or len(name) > MAX_PROPERTY_KEY:
            self.property_errors.append(
                str(
                    _("Property names must be 1 to %(max)d characters.") % {"max": MAX_PROPERTY_KEY}
                )
            )
        elif name in self.properties:
            self.property_errors.append(str(_("%(name)s is listed twice.") % {"name": name}))
        elif len(value) > MAX_PROPERTY_VALUE:
            self.property_errors.append(str(_("Property %(name)s is too long.") % {"name": name}))
        elif value:  # an emptied value removes the property
            self.properties[name] = parse_value(value)


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "UTF-8, with a header row; commas or semicolons. "
            "One contact per row, with an email address or an external id."
        ),
    )


@dataclass(frozen=True)
class ColumnChoice:
    index: int
    header: str
    target: str  # a field, "property" or "ignore"
    property_name: str
    samples: list[str]


TARGET_CHOICES = [
    ("email", _("Email")),
    ("external_id", _("External id")),
    ("name", _("Name")),
    ("phone", _("Phone")),
    ("language", _("Language")),
    ("property", _("Property")),
    (IGNORE, _("Ignore")),
]


def mapping_from_post(table: CsvTable, data: Any) -> list[str]:
    """The mapping the column selects spell: `target_<i>` and `property_<i>` per column."""
    mapping = []
    for index, header in enumerate(table.headers):
        target = data.get(f"target_{index}", IGNORE)
        if target == "property":
            name = (data.get(f"property_{index}") or "").strip() or header
            mapping.append(PROPERTY + name)
        elif target in FIELDS or target == IGNORE:
            mapping.append(target)
        else:
            mapping.append("?")  # check_mapping reports it
    return mapping


def column_choices(table: CsvTable, mapping: list[str]) -> list[ColumnChoice]:
    columns = []
    for index, (header, target) in enumerate(zip(table.headers, mapping, strict=True)):
        samples = [row[index] for row in table.rows[:3]]
        if target.startswith(PROPERTY):
            columns.append(
                ColumnChoice(index, header, "property", target.removeprefix(PROPERTY), samples)
            )
        else:
            columns.append(ColumnChoice(index, header, target, header, samples))
    return columns


# --- The contact filter's form (kaiku/contacts/templates/contacts/_filter_fields.html) ---


def filter_context(
    membership: Membership, query: QueryDict | str
) -> tuple[ContactFilter | None, dict[str, Any]]:
    """The filter a query string spells (None if invalid) and the filter form's context.

    Used by the contacts list, the send dialog and the wave form.
    """
    raw = from_query_string(query)
    errors: list[str] = []
    contact_filter: ContactFilter | None
    try:
        contact_filter = parse_filter(raw)
    except FilterError as exc:
        contact_filter, errors = None, exc.messages
    return contact_filter, filter_form_context(membership, raw, errors)


def filter_form_context(
    membership: Membership, raw: dict[str, Any], errors: list[str] | None = None
) -> dict[str, Any]:
    rows = [PropertyCondition(c["name"], c["op"], c["value"]) for c in raw.get("properties", [])]
    return {
        "filter_raw": raw,
        "filter_rows": rows + [PropertyCondition("", "eq", "")] * EXTRA_FILTER_ROWS,
        "filter_errors": errors or [],
        "operators": list(OPERATOR_LABELS.items()),
        "filter_surveys": list(Survey.objects.filter(workspace_id=membership.workspace_id)),
        "languages": membership.workspace.languages,
    }
