"""Errors of the loop's actions; `message` is translatable text for people."""

from __future__ import annotations

from django_stubs_ext import StrOrPromise


class CaseError(Exception):
    """The change is not possible; `field` names the input at fault, if any."""

    def __init__(self, message: StrOrPromise, *, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field


class InvalidTransition(CaseError):
    """The case's current status does not allow the move."""
