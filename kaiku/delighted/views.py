"""/delighted/v1/: plain Django views (parse, act, serialise) behind Basic auth.

Plain views rather than ninja: Delighted's clients send JSON, curl users send
form-encoded bodies with Rails-style bracketed names, and both must work.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from kaiku.api.models import ApiKey
from kaiku.delighted import actions, queries, shapes
from kaiku.delighted.access import get_person, get_response, settings_for
from kaiku.delighted.http import DelightedError, endpoint, json_response
from kaiku.delighted.models import DEFAULT_AUTOPILOT_DAYS
from kaiku.delighted.parsing import as_list, query_params, request_params, unix
from kaiku.responses.models import Response

OK = {"ok": True}


def _create_person(request: HttpRequest, key: ApiKey) -> HttpResponse:
    sent = actions.send_to_person(key.workspace, request_params(request))
    body = shapes.person(sent.contact)
    body["survey_scheduled_at"] = unix(sent.invitation.send_at if sent.invitation else None)
    body["properties"] = sent.properties
    return json_response(body)


def _list_people(request: HttpRequest, key: ApiKey) -> HttpResponse:
    page = queries.list_people(key.workspace, query_params(request), request)
    return json_response(page.items, headers=page.headers)


def _delete_person(request: HttpRequest, key: ApiKey, identifier: str) -> HttpResponse:
    contact = get_person(key.workspace, identifier)
    actions.delete_person(key.workspace, key, contact)
    return json_response(OK, status=202)


def _delete_pending(request: HttpRequest, key: ApiKey, identifier: str) -> HttpResponse:
    actions.delete_pending(get_person(key.workspace, identifier))
    return json_response(OK)


def _create_response(request: HttpRequest, key: ApiKey) -> HttpResponse:
    response = actions.add_survey_response(key.workspace, request_params(request))
    return json_response(shapes.survey_response(response))


def _list_responses(request: HttpRequest, key: ApiKey) -> HttpResponse:
    return json_response(queries.list_survey_responses(key.workspace, query_params(request)))


def _get_response(request: HttpRequest, key: ApiKey, response_id: str) -> HttpResponse:
    response = get_response(key.workspace, int(response_id))
    return json_response(_response_body(response, query_params(request)))


def _update_response(request: HttpRequest, key: ApiKey, response_id: str) -> HttpResponse:
    response = get_response(key.workspace, int(response_id))
    params = request_params(request)
    updated = actions.update_survey_response(key.workspace, response, params)
    return json_response(_response_body(updated, params))


def _response_body(response: Response, params: dict[str, Any]) -> dict[str, Any]:
    expand = set(as_list(params, "expand"))
    people = shapes.people_by_id([response.contact_id]) if "person" in expand else None
    return shapes.survey_response(response, people=people)


def _metrics(request: HttpRequest, key: ApiKey) -> HttpResponse:
    return json_response(queries.metrics(key.workspace, query_params(request)))


def _unsubscribe(request: HttpRequest, key: ApiKey) -> HttpResponse:
    actions.unsubscribe_person(key.workspace, request_params(request))
    return json_response(OK)


def _list_unsubscribes(request: HttpRequest, key: ApiKey) -> HttpResponse:
    return json_response(queries.list_unsubscribes(key.workspace, query_params(request)))


def _list_bounces(request: HttpRequest, key: ApiKey) -> HttpResponse:
    return json_response(queries.list_bounces(key.workspace, query_params(request)))


def _autopilot(request: HttpRequest, key: ApiKey, platform: str) -> HttpResponse:
    if platform != "email":
        raise DelightedError(404, "Kaiku's Autopilot sends email only")
    configured = settings_for(key.workspace)
    return json_response(
        {
            "platform_id": "email",
            "active": bool(configured and configured.autopilot_active),
            "frequency": (
                configured.autopilot_frequency_days if configured else DEFAULT_AUTOPILOT_DAYS
            )
            * 86400,
            "created_at": unix(configured.created_at if configured else None),
            "updated_at": unix(configured.updated_at if configured else None),
        }
    )


def _list_members(request: HttpRequest, key: ApiKey, platform: str) -> HttpResponse:
    _email_only(platform)
    page = queries.list_memberships(key.workspace, query_params(request), request)
    return json_response(page.items, headers=page.headers)


def _add_member(request: HttpRequest, key: ApiKey, platform: str) -> HttpResponse:
    _email_only(platform)
    membership = actions.add_autopilot_member(key.workspace, request_params(request))
    return json_response(
        {"person": shapes.short_person(membership.contact), "properties": membership.properties}
    )


def _remove_member(request: HttpRequest, key: ApiKey, platform: str) -> HttpResponse:
    _email_only(platform)
    contact = actions.remove_autopilot_member(key.workspace, request_params(request))
    return json_response({"person": shapes.short_person(contact)})


def _email_only(platform: str) -> None:
    if platform != "email":
        raise DelightedError(404, "Kaiku's Autopilot sends email only")


people = endpoint(get=_list_people, post=_create_person)
person = endpoint(delete=_delete_person)
pending_requests = endpoint(delete=_delete_pending)
survey_responses = endpoint(get=_list_responses, post=_create_response)
survey_response = endpoint(get=_get_response, put=_update_response)
metrics = endpoint(get=_metrics)
unsubscribes = endpoint(get=_list_unsubscribes, post=_unsubscribe)
bounces = endpoint(get=_list_bounces)
autopilot = endpoint(get=_autopilot)
autopilot_memberships = endpoint(get=_list_members, post=_add_member, delete=_remove_member)
