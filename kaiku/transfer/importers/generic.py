"""Any CSV file: the columns are guessed from their headers, then mapped by the person."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext_lazy as _

from kaiku.transfer.importers.formats import ImportFormat, register
from kaiku.transfer.importers.mapping import suggest_mapping


@register
class GenericCsv(ImportFormat):
    name = "csv"
    label = _("Any CSV file (choose the columns)")
    source = "csv"
    asks_mapping = True

    def default_mapping(self, headers: Sequence[str]) -> dict[str, str]:
        return suggest_mapping(headers)
