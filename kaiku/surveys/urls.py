"""Survey pages under /w/<workspace_slug>/surveys/ (included by kaiku/urls.py)."""

from django.urls import path

from kaiku.surveys import send_views, views

app_name = "surveys"

SURVEY = "<int:survey_id>/"

urlpatterns = [
    path("new/", views.new, name="new"),
    path("send/", send_views.send_choose, name="send_choose"),
    path(SURVEY, views.detail, name="detail"),
    path(SURVEY + "settings/", views.general, name="settings"),
    path(SURVEY + "texts/", views.texts, name="texts"),
    path(SURVEY + "channels/", views.channels, name="channels"),
    path(SURVEY + "kiosks/", views.kiosk_create, name="kiosk_create"),
    path(
        SURVEY + "kiosks/<int:kioskdevice_id>/deactivate/",
        views.kiosk_deactivate,
        name="kiosk_deactivate",
    ),
    path(SURVEY + "follow-up/", views.follow_up, name="follow_up"),
    path(SURVEY + "reminders/", views.reminders, name="reminders"),
    path(SURVEY + "send/", send_views.send, name="send"),
    path(SURVEY + "waves/", send_views.waves, name="waves"),
    path(SURVEY + "waves/<int:wave_id>/", send_views.wave_edit, name="wave_edit"),
    path(SURVEY + "waves/<int:wave_id>/pause/", send_views.wave_toggle, name="wave_toggle"),
    path(SURVEY + "log/", send_views.delivery_log, name="log"),
]
