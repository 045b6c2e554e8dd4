"""The formats Kaiku imports, and the interface they share.

A CSV format only decides the default column mapping from the header (the
person importing can change any of it); a JSON format turns each item into a
SourceRow itself. Reading, checking, batching and writing are shared (runner).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, ClassVar

from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from kaiku.transfer.importers.base import SourceRow
from kaiku.transfer.importers.mapping import FIELDS, IGNORE, PROPERTY


@dataclass(frozen=True)
class ImportOptions:
    """What the person chose: format, survey, column mapping, dry run."""

    format: str
    survey_id: int | None = None  # None: contacts only
    mapping: Mapping[str, str] = field(default_factory=dict)  # overrides, {header: target}
    dry_run: bool = False
    date_format: str = ""  # strptime format for dates that are not ISO 8601
    time_zone: str = ""  # for dates without an offset; empty: the format's default
    batch_size: int = 2000
    # Read and check in a second process: None decides by the file's size (pipeline.py).
    parallel: bool | None = None
    language: str = ""  # of the report's reasons when a second process writes them


class ImportFormat:
    name: ClassVar[str]
    label: ClassVar[StrOrPromise]
    source: ClassVar[str]  # the idempotency key prefix
    is_csv: ClassVar[bool] = True
    # Dates without an offset: "workspace" (its time zone) or "UTC".
    default_zone: ClassVar[str] = "workspace"
    # Whether the import page shows the mapping step before the dry run.
    asks_mapping: ClassVar[bool] = False

    def default_mapping(self, headers: Sequence[str]) -> dict[str, str]:
        raise NotImplementedError

    def json_rows(self, stream: IO[str]) -> Iterator[SourceRow]:
        raise NotImplementedError


def merge_mapping(defaults: Mapping[str, str], overrides: Mapping[str, str]) -> dict[str, str]:
    """The format's mapping with the person's choices on top.

    A field given to another column leaves the column that had it by default:
    choosing "Q3" as the score un-maps the guessed "Score" column (it is ignored).
    """
    merged = dict(defaults)
    for header, target in overrides.items():
        if target in FIELDS:
            for other, taken in merged.items():
                if taken == target and other != header:
                    merged[other] = IGNORE
        merged[header] = target
    return merged


def alias_mapping(
    headers: Sequence[str],
    aliases: Mapping[str, str],
    *,
    ignored_prefixes: Sequence[str] = (),
) -> dict[str, str]:
    """Map headers by case-insensitive exact name; unknown ones become properties.

    The first column that claims a field keeps it; later ones with the same
    meaning are ignored (e.g. "ID" after "Response ID").
    """
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        lowered = header.strip().lower()
        target = aliases.get(lowered)
        if target is None and lowered.startswith(tuple(ignored_prefixes)):
            target = IGNORE
        if target is None:
            target = PROPERTY + header.strip()[:64] if header.strip() else IGNORE
        if target in FIELDS:
            if target in taken:
                target = IGNORE
            taken.add(target)
        mapping[header] = target
    return mapping


FORMATS: dict[str, ImportFormat] = {}


def register(format_class: type[ImportFormat]) -> type[ImportFormat]:
    FORMATS[format_class.name] = format_class()
    return format_class


def format_choices() -> list[tuple[str, StrOrPromise]]:
    return [(name, fmt.label) for name, fmt in FORMATS.items()]


def get_format(name: str) -> ImportFormat:
    try:
        return FORMATS[name]
    except KeyError:
        known = ", ".join(FORMATS)
        raise ValueError(
            str(
                _("Unknown format %(name)s; use one of: %(known)s.")
                % {"name": name, "known": known}
            )
        ) from None
