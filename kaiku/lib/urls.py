"""kaiku.lib's routes: the health check for load balancers (no auth, no session)."""

from django.urls import URLPattern, path

from kaiku.lib import health

urlpatterns: list[URLPattern] = [path("healthz", health.healthz, name="healthz")]
