"""Kaiku: self-hosted NPS, CSAT and CES surveys with honest statistics."""

__version__ = "0.1.0"
