"""The Delighted settings page, mounted at /w/<slug>/delighted/ by kaiku/urls.py."""

from django.urls import path

from kaiku.delighted import ui

app_name = "delighted"

urlpatterns = [
    path("", ui.delighted_settings, name="settings"),
]
