"""One error shape for the whole API: `{"error": {"code", "message", "field"}}`.

Every failure, whether raised by ninja (authentication, validation, unparsable
JSON), by Django (Http404, PermissionDenied, IntegrityError) or by our code
(ApiError), goes through the handlers registered here, so that clients only ever
parse one shape. A 500 never carries a traceback; it is logged instead.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from functools import wraps
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from kaiku.lib.middleware import database_unavailable, unavailable_json
from kaiku.responses.actions import AnswerRejected

logger = logging.getLogger("kaiku.api")

# One machine-readable code per status; `message` is for people, `field` for forms.
CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid",
    429: "rate_limited",
    500: "server_error",
    503: "unavailable",
}
# The header a 401 must carry (RFC 6750) so that clients know which scheme to use.
WWW_AUTHENTICATE = 'Bearer realm="kaiku"'


class ApiError(Exception):
    """An error the API reports to the client as it is."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = dict(headers or {})


class RateLimited(ApiError):
    def __init__(self, retry_after: float) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(
            429,
            _("Too many requests for this API key; retry in %(seconds)d s.") % {"seconds": seconds},
            headers={"Retry-After": str(seconds)},
        )


def error_body(status: int, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": CODES.get(status, "error"), "message": message, "field": field}}


def error_response(
    status: int,
    message: str,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JsonResponse:
    response = JsonResponse(error_body(status, message, field), status=status)
    if status == 401:
        response["WWW-Authenticate"] = WWW_AUTHENTICATE
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def field_from_loc(loc: Sequence[Any]) -> str | None:
    """`("body", "payload", "contact", "email")` → `"contact.email"`.

    ninja prefixes the source (body, query, path, header) and, for a body, the
    name of the view's schema argument; clients only know the JSON's own names.
    """
    parts = [str(part) for part in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "form", "cookie"}:
        source, parts = parts[0], parts[1:]
        if source == "body" and parts and parts[0] == "payload":
            parts = parts[1:]
    return ".".join(parts) or None


def _validation_message(error: Mapping[str, Any]) -> str:
    message = str(error.get("msg", _("Invalid value.")))
    # pydantic prefixes messages of ValueErrors raised in validators.
    return message.removeprefix("Value error, ")


def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    # The first error is reported: one field at a time is what a form can show,
    # and a client fixing its payload will see the next one on the next try.
    first = exc.errors[0] if exc.errors else {}
    return error_response(422, _validation_message(first), field_from_loc(first.get("loc", ())))


def on_django_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    if hasattr(exc, "error_dict"):
        field, errors = next(iter(exc.error_dict.items()))
        message = str(errors[0].messages[0]) if errors else _("Invalid value.")
        return error_response(422, message, None if field == "__all__" else field)
    return error_response(422, str(exc.messages[0]) if exc.messages else _("Invalid value."))


def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(exc.status, exc.message, exc.field, exc.headers)


# AnswerRejected.code → status: bad input and closed surveys are the client's to
# fix (422); an answer that can no longer change conflicts with stored state.
ANSWER_REJECTED_STATUS = {"invalid": 422, "inactive": 422, "closed": 409, "unknown": 404}


def on_answer_rejected(request: HttpRequest, exc: AnswerRejected) -> HttpResponse:
    status = ANSWER_REJECTED_STATUS.get(exc.code, 422)
    return error_response(status, str(exc.message), exc.field)


def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(401, _("Missing API key: send the header 'Authorization: Bearer <key>'."))


def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:
        # ninja's "Cannot parse request body" (with the parser's detail in debug).
        return error_response(400, _("The request body is not valid JSON."))
    return error_response(exc.status_code, exc.message)


def on_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(404, _("Not found."))


def on_permission_denied(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(403, str(exc) or _("Not allowed."))


def on_integrity_error(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
    # A unique constraint lost a race or two identifiers point at different rows.
    logger.info("API conflict on %s %s: %s", request.method, request.path, exc)
    return error_response(409, _("The request conflicts with existing data; retry or change it."))


def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API error on %s %s", request.method, request.path, exc_info=exc)
    return error_response(500, _("Internal error. It has been logged."))


def on_database_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    # The database restarting or failing over: 503 + Retry-After, so clients retry.
    if database_unavailable(exc):
        logger.warning("API: database unavailable on %s %s: %s", request.method, request.path, exc)
        return unavailable_json()
    return on_unexpected(request, exc)


def install_error_handlers(api: NinjaAPI) -> None:
    handlers: list[tuple[type[Exception], Callable[..., HttpResponse]]] = [
        (Exception, on_unexpected),
        (ApiError, on_api_error),
        (AnswerRejected, on_answer_rejected),
        (NinjaValidationError, on_validation_error),
        (DjangoValidationError, on_django_validation_error),
        (AuthenticationError, on_authentication_error),
        (HttpError, on_http_error),
        (Http404, on_not_found),
        (ObjectDoesNotExist, on_not_found),
        (PermissionDenied, on_permission_denied),
        (IntegrityError, on_integrity_error),
        (OperationalError, on_database_error),
        (InterfaceError, on_database_error),
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, handler)


def json_method_not_allowed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """ninja answers an unknown method with a plain-text 405; give it our shape."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            return error_response(
                405,
                _("Method %(method)s is not allowed here.") % {"method": request.method},
                headers={"Allow": allowed},
            )
        return response

    return wrapper


# csrf_exempt like the API's own routes (keys in headers, no cookies): otherwise a
# POST or DELETE to an unknown path got Django's HTML CSRF 403 instead of this 404.
@csrf_exempt
def not_found_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Unknown paths under /api/v1/ answer JSON, not Django's HTML 404 page."""
    return error_response(404, _("No such API route."))
