"""Contacts pages under /w/<workspace_slug>/contacts/ (included by kaiku/urls.py)."""

from django.urls import path

from kaiku.contacts import views

app_name = "contacts"

urlpatterns = [
    path("", views.contact_list, name="list"),
    path("new/", views.contact_new, name="new"),
    path("import/", views.import_upload, name="import"),
    path("import/map/", views.import_map, name="import_map"),
    path("import/cancel/", views.import_cancel, name="import_cancel"),
    path("<int:contact_id>/", views.contact_detail, name="detail"),
]
