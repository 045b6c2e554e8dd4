"""Web widget endpoints (script, eligibility, answers). Public, CORS-restricted."""

from django.urls import path

from kaiku.lib.security import embeddable
from kaiku.responses import widget_views

app_name = "widget"

urlpatterns = [
    # embeddable: customers' sites load these; no frame or resource policy of ours applies.
    path("v1/kaiku.js", embeddable(widget_views.script), name="script"),
    path(
        "v1/surveys/<str:public_id>/eligibility",
        embeddable(widget_views.eligibility),
        name="eligibility",
    ),
    path(
        "v1/surveys/<str:public_id>/responses",
        embeddable(widget_views.responses),
        name="responses",
    ),
]
