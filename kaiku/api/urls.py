"""REST API v1 (django-ninja), mounted at /api/ by kaiku/urls.py."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path

from kaiku.api.api import api
from kaiku.api.errors import json_method_not_allowed, not_found_view

# Not unpacked into `app_name`: a module-level app_name would namespace this
# whole module and turn "api-v1:openapi-json" into "api-v1:api-v1:openapi-json".
_patterns, _app, _namespace = api.urls
for pattern in _patterns:
    if isinstance(pattern, URLPattern):
        pattern.callback = json_method_not_allowed(pattern.callback)

urlpatterns: list[URLPattern | URLResolver] = [
    path("v1/", (_patterns, _app, _namespace)),
    # Anything else under /api/v1/ is a JSON 404, like every other API error.
    re_path(r"^v1/", not_found_view),
]
