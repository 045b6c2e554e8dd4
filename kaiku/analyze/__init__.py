"""`kaiku analyze`: statistics for a CSV file with no server, settings or database.

Never import Django from this package: kaiku/__main__.py dispatches `kaiku analyze` before
Django is set up. Figures and tests come from kaiku.metrics (pure Python).
"""

from kaiku.analyze.cli import analyze, main
from kaiku.analyze.errors import AnalyzeError

__all__ = ["AnalyzeError", "analyze", "main"]
