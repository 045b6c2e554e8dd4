"""Public routes for email recipients: unsubscribe and the open-tracking pixel."""

from django.urls import URLPattern, path

from kaiku.surveys import public_views

app_name = "survey_public"

urlpatterns: list[URLPattern] = [
    # The token is the invitation's: the same secret as its answer links.
    path("u/<str:token>/", public_views.unsubscribe, name="unsubscribe"),
    path("o/<str:token>.gif", public_views.open_pixel, name="open_pixel"),
]
