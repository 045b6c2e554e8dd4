"""The NinjaAPI instance behind /api/v1/."""

from __future__ import annotations

from ninja import NinjaAPI, Swagger

from kaiku.api.auth import ApiKeyAuth
from kaiku.api.errors import install_error_handlers
from kaiku.api.routes import (
    cases,
    contacts,
    events,
    invitations,
    responses,
    surveys,
    themes,
    unsubscribes,
    webhooks,
)
from kaiku.api.routes import gdpr as gdpr_routes
from kaiku.api.routes import metrics as metrics_routes

DESCRIPTION = """\
Kaiku's REST API. Authenticate with an API key from the workspace's *API keys*
page: `Authorization: Bearer kaiku_…`. Every error answers
`{"error": {"code", "message", "field"}}`. See docs/api.md.
"""

api = NinjaAPI(
    title="Kaiku API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    auth=ApiKeyAuth(),
    openapi_url="/openapi.json",
    docs_url="/docs",
    # Swagger UI comes from ninja's bundled static files ("ninja" is in
    # INSTALLED_APPS), never a CDN. validatorUrl=None stops it sending our
    # schema to validator.swagger.io.
    docs=Swagger(settings={"validatorUrl": None}),
)
install_error_handlers(api)
api.add_router("/surveys", surveys.router)
api.add_router("/responses", responses.router)
api.add_router("/contacts", contacts.router)
api.add_router("/contacts", gdpr_routes.router)  # /contacts/{id}/erase and /export
api.add_router("/unsubscribes", unsubscribes.router)
api.add_router("/webhooks", webhooks.router)
api.add_router("/events", events.router)
api.add_router("/surveys", themes.router)  # /surveys/{id}/themes
api.add_router("", invitations.router)  # /surveys/{id}/invitations and /invitations/{id}/…
api.add_router("/surveys", metrics_routes.router)  # /surveys/{id}/metrics
api.add_router("/cases", cases.router)
