"""The API keys page, mounted at /w/<slug>/api-keys/ by kaiku/urls.py."""

from django.urls import path

from kaiku.api import views

app_name = "apikeys"

urlpatterns = [
    path("", views.api_keys, name="list"),
    path("<int:key_id>/revoke/", views.revoke, name="revoke"),
]
