"""The one error `kaiku analyze` reports to the user instead of a traceback."""

from __future__ import annotations


class AnalyzeError(Exception):
    """A problem with the input (file, columns, options): printed as one line, exit code 2."""
