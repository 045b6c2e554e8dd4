"""Public respondent routes (email link, public link, kiosk). No login, no cookies."""

from django.urls import URLPattern, path

from kaiku.responses import views

app_name = "respond"

urlpatterns: list[URLPattern] = [
    # Email invitations: the token identifies the invitation and its one answer.
    path("r/<str:token>/", views.invitation, name="invitation"),
    path("r/<str:token>/comment/", views.invitation_comment, name="invitation_comment"),
    path("r/<str:token>/thanks/", views.invitation_thanks, name="invitation_thanks"),
    # Public links: anonymous unless `uid` is signed; the edit token reopens an answer.
    path("s/<str:public_id>/", views.public, name="public"),
    path("s/<str:public_id>/<str:edit_token>/", views.public_comment, name="public_comment"),
    path("s/<str:public_id>/<str:edit_token>/thanks/", views.public_thanks, name="public_thanks"),
    # Kiosks: a per-device key; the page resets after each answer.
    path("k/<str:key>/", views.kiosk, name="kiosk"),
    path("k/<str:key>/<str:edit_token>/", views.kiosk_comment, name="kiosk_comment"),
    path("k/<str:key>/<str:edit_token>/thanks/", views.kiosk_thanks, name="kiosk_thanks"),
]
