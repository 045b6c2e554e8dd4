"""Mounted at /w/<workspace_slug>/surveys/<survey_id>/themes/ by kaiku/urls.py."""

from django.urls import path

from kaiku.themes import views

app_name = "themes"

urlpatterns = [
    path("", views.impact, name="impact"),
    path("passives/", views.passives, name="passives"),
    path("export.csv", views.export_csv, name="export"),
    path("discover/", views.discover_view, name="discover"),
    path("discover/accept/", views.accept, name="accept"),
    path("taxonomy/", views.taxonomy, name="taxonomy"),
    path("taxonomy/new/", views.theme_create, name="theme_create"),
    path("taxonomy/<int:theme_id>/", views.theme_edit, name="theme_edit"),
    path("<int:theme_id>/", views.theme_detail, name="theme"),
    path("answers/<int:response_id>/tag/", views.response_tag, name="tag"),
]
