"""Request and response bodies of API v1 (pydantic, through django-ninja).

Input is validated here, at the edge, so that a bad request is answered 422 with
the offending field before any action runs or anything is written.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from ninja import Schema
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from kaiku.responses.actions import AnswerRejected, clean_properties
from kaiku.responses.models import MAX_COMMENT_LENGTH

Language = Literal["en", "fi", "et"]
# Backfilled answers may carry a created_at; a little clock skew is forgiven,
# an answer from the future is not (it would sit on top of every dashboard).
FUTURE_SKEW = timedelta(minutes=5)
MAX_IDEMPOTENCY_KEY = 200


def _invalid(message: str) -> PydanticCustomError:
    # A custom error keeps the message clean (no "Value error, " prefix).
    return PydanticCustomError("invalid", message)


def check_properties(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """The bounds every stored properties object obeys (flat, ≤ 50, finite numbers)."""
    if value is None:
        return None
    try:
        return clean_properties(value)
    except AnswerRejected as exc:
        raise _invalid(str(exc.message)) from None


# Output times are always UTC, however they were given or stored.
UtcDatetime = Annotated[datetime, AfterValidator(lambda value: value.astimezone(UTC))]

# A flat object of at most 50 short names to scalars (kaiku.contacts.models).
Properties = Annotated[dict[str, Any] | None, AfterValidator(check_properties)]


class PlainSchema(BaseModel):
    """A body validated by pydantic alone, for the answer path's schemas.

    ninja's Schema wraps every object it validates, input dicts included, in a
    DjangoGetter (for resolve_* methods and dotted aliases, unused here); reading
    attributes through it took 22 µs per ResponseOut against 4.6 (docs/performance.md).
    """

    model_config = ConfigDict(from_attributes=True)


# --- Errors ------------------------------------------------------------------------


class ErrorDetail(Schema):
    code: str = Field(description="Machine-readable: invalid, unauthorized, not_found …")
    message: str = Field(description="For people; may change between versions.")
    field: str | None = Field(None, description="The input at fault, e.g. `contact.email`.")


class ErrorOut(Schema):
    error: ErrorDetail


# Documented on every route; raised through the handlers in kaiku.api.errors.
# 422 on reads: a bad query parameter (cursor, limit, filter); 400 on writes: a
# body that is not JSON (schemathesis holds the answers to this list).
READ_ERRORS: dict[int, type[Schema]] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut}
WRITE_ERRORS: dict[int, type[Schema]] = {
    **READ_ERRORS,
    400: ErrorOut,
    403: ErrorOut,
    409: ErrorOut,
}


# --- Surveys -------------------------------------------------------------------------


class SurveyOut(Schema):
    id: int
    name: str
    kind: Literal["nps", "csat", "ces"]
    scale_min: int
    scale_max: int
    default_language: str
    is_active: bool
    public_id: str
    created_at: UtcDatetime


class SurveyPage(Schema):
    data: list[SurveyOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


# --- Contacts and responses -------------------------------------------------------------


class ContactIn(PlainSchema):
    """Who answered: found by external_id, else by email, and created if new."""

    email: str | None = Field(None, max_length=254)
    external_id: str | None = Field(None, min_length=1, max_length=128)
    name: str | None = Field(None, max_length=200)
    language: Language | None = None
    properties: Properties = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            validate_email(value.strip())
        except ValidationError:
            raise _invalid("Enter a valid email address.") from None
        return value.strip().lower()

    @model_validator(mode="after")
    def _identified(self) -> ContactIn:
        if not self.email and not self.external_id:
            raise _invalid("A contact needs an email or an external_id.")
        return self


class ContactOut(PlainSchema):
    id: int
    email: str | None
    external_id: str | None
    name: str
    language: str
    properties: dict[str, Any]


class ResponseIn(PlainSchema):
    survey: StrictInt = Field(description="The survey's id.")
    score: StrictInt = Field(description="Within the survey's scale (0 to 10 for NPS).")
    comment: str | None = Field(None, max_length=MAX_COMMENT_LENGTH)
    contact: ContactIn | None = None
    language: Language | None = Field(
        None, description="The answer's language; defaults to the contact's."
    )
    properties: Properties = Field(
        None, description="Merged over the contact's properties in the answer's snapshot."
    )
    created_at: AwareDatetime | None = Field(
        None, description="When the answer was given, to backfill history; defaults to now."
    )
    idempotency_key: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_IDEMPOTENCY_KEY,
        description="Retries with the same key return the first response (also a header).",
    )

    @field_validator("created_at")
    @classmethod
    def _not_in_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value > timezone.now() + FUTURE_SKEW:
            raise _invalid("created_at cannot be in the future.")
        return value


class ResponseOut(PlainSchema):
    id: int
    survey: int = Field(validation_alias="survey_id")
    score: int
    comment: str
    language: str = Field(description="The language the respondent was asked in.")
    comment_language: str = Field(description="Detected shortly after; empty until then.")
    channel: str
    contact: ContactOut | None
    properties: dict[str, Any]
    idempotency_key: str | None
    tags: list[str] = Field(description="The team's labels (PATCH to change).")
    notes: str = Field(description="The team's notes; never shown to the respondent.")
    created_at: UtcDatetime
    updated_at: UtcDatetime
