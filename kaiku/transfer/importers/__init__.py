"""Importers: Delighted (CSV and API JSON), Formbricks CSV and any CSV with a column mapping.

`run_import(workspace, path, ImportOptions(...))` is the entry point; the
formats register themselves in `formats.FORMATS` when imported here.
"""

from kaiku.transfer.importers import delighted, formbricks, generic  # noqa: F401  (registration)
from kaiku.transfer.importers.formats import FORMATS, ImportOptions, get_format
from kaiku.transfer.importers.runner import ImportFailed, Progress, read_header, run_import

__all__ = [
    "FORMATS",
    "ImportFailed",
    "ImportOptions",
    "Progress",
    "get_format",
    "read_header",
    "run_import",
]
