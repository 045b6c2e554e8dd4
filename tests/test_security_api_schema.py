"""Schemathesis against /api/v1/openapi.json: no 5xx, and every answer matches the schema.

Runs in-process against the WSGI app (no server, nothing on the network) with
a read_write key of a seeded workspace. Path ids are half the time real rows of
that workspace, so the happy paths run too, not only the 404s. Examples per
operation are bounded (MAX_EXAMPLES) and derandomised so that CI stays fast and
a failure replays the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi import checks

from kaiku.accounts.models import Membership, Role, User, Workspace
from kaiku.api.actions import create_api_key
from kaiku.api.api import api
from kaiku.api.models import Scope
from kaiku.surveys.models import Survey
from kaiku.wsgi import application
from tests.test_api_base import LOCMEM_CACHE
from tests.test_security_base import seed_acme

pytestmark = pytest.mark.django_db

# Examples per operation: schema-valid ones (the happy paths and their answers'
# shapes), and fewer invalid ones (only there to find a 5xx on garbage input).
MAX_EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 10}
# Checks left out, on purpose. Both judge how strict the input validation is, not
# the answers: positive_data_acceptance wants 2xx for any schema-valid input, but
# the API has rules a schema cannot say (a contact needs an email or an
# external_id; a cursor is opaque); negative_data_rejection counts the
# Authorization header we add as missing and unknown query parameters (ignored,
# as usual) as errors. Still checked: no 5xx, documented status codes, content
# types, headers and response bodies matching their schemas.
NOT_CHECKED = [checks.positive_data_acceptance, checks.negative_data_rejection]
# Real ids of the seeded workspace, by path parameter name (filled by the fixture).
REAL_IDS: dict[str, int] = {}


def load_schema() -> Any:
    """The schema as /api/v1/openapi.json serves it, called through the WSGI app."""
    raw = json.loads(json.dumps(api.get_openapi_schema(path_prefix="/api/v1"), default=str))
    loaded = schemathesis.openapi.from_dict(raw)
    loaded.app = application
    return loaded


SCHEMA = load_schema()
OPERATIONS = sorted(result.ok().label for result in SCHEMA.get_all_operations())


@pytest.fixture
def token(db: None, settings: Any) -> Iterator[str]:
    """A read_write key of Acme, seeded with a bit of everything."""
    settings.CACHES = LOCMEM_CACHE
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    settings.WEBHOOKS_ALLOW_PRIVATE = False  # generated URLs must never be called
    cache.clear()
    workspace = Workspace.objects.create(name="Acme", slug="acme")
    alice = User.objects.create_user("alice@example.org", "x" * 20, name="Alice")
    Membership.objects.create(workspace=workspace, user=alice, role=Role.OWNER)
    acme = seed_acme(workspace, alice, Survey.objects.create(workspace=workspace, name="NPS"))
    REAL_IDS.update(
        survey_id=acme.survey.pk,
        contact_id=acme.contact.pk,
        response_id=acme.response.pk,
        webhook_id=acme.endpoint.pk,
        invitation_id=acme.invitation.pk,
    )
    _key, plaintext = create_api_key(workspace, "Schemathesis", Scope.READ_WRITE, None, alice)
    # The WSGI handler closes "old" connections at each request's start and end, and
    # one inside the test's transaction counts as old: on PostgreSQL that would close
    # the test's own connection. Django's test Client disconnects these hooks too.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield plaintext
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        REAL_IDS.clear()


@schemathesis.hook
def map_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    """Every other generated id becomes a real one, so that 200s are checked too."""
    if not path_parameters:
        return path_parameters
    return {
        name: REAL_IDS[name] if name in REAL_IDS and _even(value) else value
        for name, value in path_parameters.items()
    }


def _even(value: Any) -> bool:
    return isinstance(value, int) and value % 2 == 0


def test_the_schema_lists_every_api_route() -> None:
    assert len(OPERATIONS) >= 25
    assert "GET /api/v1/surveys/{survey_id}" in OPERATIONS
    assert "DELETE /api/v1/contacts/{contact_id}" in OPERATIONS


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("label", OPERATIONS)
def test_the_api_matches_its_schema_and_never_fails(
    label: str, mode: GenerationMode, token: str
) -> None:
    method, path = label.split(" ", 1)
    operation = SCHEMA[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES[mode],
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(
            headers={"Authorization": f"Bearer {token}"}, excluded_checks=NOT_CHECKED
        )

    run()


@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
def test_unknown_api_paths_answer_json_404_for_every_method(method: str, token: str) -> None:
    """Found by schemathesis: DELETE /api/v1/contacts/1.5 got Django's HTML CSRF 403."""
    response = getattr(Client(), method)(
        "/api/v1/contacts/1.5", headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
