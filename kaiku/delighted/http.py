"""The plumbing every /delighted/v1/ endpoint shares: Basic auth, errors, JSON.

Errors use Delighted's shape, `{"status": 422, "message": "Unprocessable
Entity", "errors": {"email": ["is invalid"]}}`, and stay in English like
Delighted's. Delighted's clients only look at the status code (401 →
AuthenticationError, 422 → ResourceValidationError, 429 → TooManyRequestsError
reading Retry-After as an integer, …), so the status codes matter most.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from kaiku.accounts.models import Workspace
from kaiku.api.actions import note_api_key_used
from kaiku.api.auth import SAFE_METHODS, check_rate_limit, find_and_count
from kaiku.api.errors import RateLimited
from kaiku.api.models import ApiKey
from kaiku.delighted.parsing import ParamError
from kaiku.lib.middleware import RETRY_AFTER_SECONDS, database_unavailable
from kaiku.responses.actions import AnswerRejected

logger = logging.getLogger("kaiku.delighted")

REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
}
WWW_AUTHENTICATE = 'Basic realm="Kaiku (Delighted-compatible API)"'


class DelightedError(Exception):
    """An error reported to the client in Delighted's shape."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        errors: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message or REASONS.get(status, "Error"))
        self.status = status
        self.message = message or REASONS.get(status, "Error")
        self.errors = dict(errors or {})
        self.headers = dict(headers or {})


def invalid(field: str, message: str) -> DelightedError:
    """A 422 naming one field, as Rails validations do: `{"email": ["is invalid"]}`."""
    return DelightedError(422, errors={field: [message]})


def not_found(message: str = "Not Found") -> DelightedError:
    return DelightedError(404, message)


def error_response(error: DelightedError) -> JsonResponse:
    body: dict[str, Any] = {"status": error.status, "message": error.message}
    if error.errors:
        body["errors"] = error.errors
    response = JsonResponse(body, status=error.status)
    if error.status == 401:
        response["WWW-Authenticate"] = WWW_AUTHENTICATE
    for name, value in error.headers.items():
        response[name] = value
    return response


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> JsonResponse:
    response = JsonResponse(data, status=status, safe=False)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


# --- Authentication ---------------------------------------------------------------------


def basic_credentials(request: HttpRequest) -> str | None:
    """The username of `Authorization: Basic …`, which is where the API key goes.

    delighted-ruby encodes `key:` (empty password), delighted-python encodes
    the bare key without a colon: both are accepted, and the password ignored.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username = decoded.partition(":")[0].strip()
    return username or None


def authenticate(request: HttpRequest) -> ApiKey:
    """The active API key of the request, or a DelightedError (401, 403 or 429)."""
    plaintext = basic_credentials(request)
    if plaintext is None:
        raise DelightedError(
            401, "Missing API key: use HTTP Basic auth with the key as the username."
        )
    key, wait = find_and_count(plaintext)
    now = timezone.now()
    if key is None or not key.is_active(now):
        raise DelightedError(401, "Invalid API key.")
    try:
        check_rate_limit(key, wait)
    except RateLimited as exc:
        raise DelightedError(429, headers=exc.headers) from None
    # Delighted keys have no scopes; Kaiku's read keys are refused on writes
    # with 403, the status Delighted uses for "not available to this key".
    if request.method not in SAFE_METHODS and not key.can_write:
        raise DelightedError(403, "This API key is read-only; writing needs a read_write key.")
    note_api_key_used(key, now)
    return key


# --- Endpoints --------------------------------------------------------------------------

Handler = Callable[..., HttpResponse]


def endpoint(**handlers: Handler) -> Callable[..., HttpResponse]:
    """A view that dispatches by method to `handlers` (`get=…, post=…`).

    Each handler is called as `handler(request, key, **url_kwargs)` after Basic
    auth; every failure becomes Delighted's error shape. Authentication comes
    before the method check so that a stranger learns nothing from a 405.
    """
    allowed = sorted(name.upper() for name in handlers)

    @csrf_exempt
    def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        try:
            key = authenticate(request)
            handler = handlers.get((request.method or "").lower())
            if handler is None:
                error = DelightedError(405, f"Method {request.method} is not allowed here.")
                error.headers["Allow"] = ", ".join(allowed)
                raise error
            return handler(request, key, **kwargs)
        except DelightedError as exc:
            return error_response(exc)
        except ParamError as exc:
            return error_response(invalid(exc.field, exc.message))
        except AnswerRejected as exc:
            status = 404 if exc.code == "unknown" else 422
            return error_response(DelightedError(status, errors={exc.field: [str(exc.message)]}))
        except ValidationError as exc:
            return error_response(DelightedError(422, errors=validation_errors(exc)))
        except IntegrityError:
            logger.info("Delighted API conflict on %s %s", request.method, request.path)
            return error_response(DelightedError(409, "The request conflicts with stored data."))
        except Exception as exc:
            if database_unavailable(exc):  # a restart or failover: 503, clients retry
                logger.warning("Delighted API: database unavailable: %s", exc)
                wait = {"Retry-After": str(RETRY_AFTER_SECONDS)}
                return error_response(DelightedError(503, "Service Unavailable", headers=wait))
            logger.exception("Delighted API error on %s %s", request.method, request.path)
            return error_response(DelightedError(500))

    return view


def validation_errors(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
    return {"base": [str(m) for m in exc.messages]}


def workspace_of(key: ApiKey) -> Workspace:
    return key.workspace


@csrf_exempt
def unknown_route(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Anything else under /delighted/v1/ answers Delighted's JSON 404."""
    return error_response(not_found())
