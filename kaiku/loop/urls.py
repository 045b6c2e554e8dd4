"""Loop pages under /w/<workspace_slug>/cases/ (included by kaiku/urls.py)."""

from django.urls import path

from kaiku.loop import settings_views, views

app_name = "loop"

CASE = "<int:case_id>/"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("board/", views.board, name="board"),
    path("overview/", settings_views.overview, name="overview"),
    path("alerts/", settings_views.preferences, name="preferences"),
    path("categories/", settings_views.category_list, name="categories"),
    path(
        "categories/<int:resolutioncategory_id>/",
        settings_views.category_edit,
        name="category_edit",
    ),
    path(
        "surveys/<int:survey_id>/settings/",
        settings_views.survey_settings,
        name="survey_settings",
    ),
    path(CASE, views.case_detail, name="case"),
    path(CASE + "assign/", views.assign, name="assign"),
    path(CASE + "take/", views.take, name="take"),
    path(CASE + "status/", views.change_status, name="status"),
    path(CASE + "notes/", views.add_note, name="note"),
    path(CASE + "replies/", views.reply, name="reply"),
    path(CASE + "replies/<int:casereply_id>/retry/", views.retry, name="reply_retry"),
    path(CASE + "resolve/", views.resolve, name="resolve"),
    path(CASE + "reopen/", views.reopen, name="reopen"),
]
