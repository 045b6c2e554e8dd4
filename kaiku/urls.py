from django.contrib import admin
from django.urls import include, path

from kaiku.accounts import settings_views
from kaiku.insights import views as insights_views

urlpatterns = [
    # The busiest routes first, so resolving them tries the fewest patterns: respondent
    # pages (short prefixes /r/, /s/, /k/, which nothing else starts with) and the APIs.
    path("", include("kaiku.responses.urls")),
    path("api/", include("kaiku.api.urls")),
    path("", include("kaiku.lib.urls")),  # /healthz for load balancers
    path("", insights_views.home, name="home"),
    path("accounts/", include("kaiku.accounts.urls")),
    path("w/<slug:workspace_slug>/", include("kaiku.insights.urls")),
    path("w/<slug:workspace_slug>/team/", include("kaiku.accounts.team_urls")),
    path("w/<slug:workspace_slug>/api-keys/", include("kaiku.api.ui_urls")),
    path("w/<slug:workspace_slug>/webhooks/", include("kaiku.webhooks.urls")),
    path("w/<slug:workspace_slug>/surveys/<int:survey_id>/themes/", include("kaiku.themes.urls")),
    path("w/<slug:workspace_slug>/contacts/", include("kaiku.contacts.urls")),
    path("w/<slug:workspace_slug>/surveys/", include("kaiku.surveys.urls")),
    path(
        "w/<slug:workspace_slug>/settings/",
        settings_views.workspace_settings,
        name="workspace_settings",
    ),
    path("w/<slug:workspace_slug>/delighted/", include("kaiku.delighted.ui_urls")),
    path("w/<slug:workspace_slug>/", include("kaiku.transfer.urls")),  # import, export, audit
    path("w/<slug:workspace_slug>/cases/", include("kaiku.loop.urls")),
    path("shared/", include("kaiku.insights.share_urls")),  # read-only dashboard links
    path("delighted/v1/", include("kaiku.delighted.urls")),
    path("widget/", include("kaiku.responses.widget_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("kaiku.surveys.public_urls")),  # /u/ unsubscribe, /o/ open pixel
]

# A database connection error that escapes a middleware is a 503, not a 500.
handler500 = "kaiku.lib.middleware.server_error"
