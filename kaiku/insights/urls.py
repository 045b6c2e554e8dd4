from django.urls import path

from kaiku.insights import dashboard_views, exports, manage_views, other_views, reports, views

app_name = "insights"

SURVEY = "surveys/<int:survey_id>/"
DASH = SURVEY + "dashboard/"

urlpatterns = [
    path("", views.survey_list, name="survey_list"),
    path(DASH, dashboard_views.dashboard, name="dashboard"),
    path(DASH + "compare/", dashboard_views.compare, name="compare"),
    path(DASH + "comments/", dashboard_views.comments, name="comments"),
    path(DASH + "retention/", other_views.retention, name="retention"),
    path(DASH + "answers.csv", exports.responses_csv, name="export_responses"),
    path(DASH + "table.csv", exports.table_csv, name="export_table"),
    path(DASH + "report/", reports.report_html, name="report"),
    path(DASH + "report.pdf", reports.report_pdf, name="report_pdf"),
    path(SURVEY + "goals/", manage_views.goal_create, name="goal_create"),
    path(SURVEY + "goals/<int:goal_id>/delete/", manage_views.goal_delete, name="goal_delete"),
    path(SURVEY + "shares/", manage_views.share_create, name="share_create"),
    path(SURVEY + "shares/<int:share_id>/revoke/", manage_views.share_revoke, name="share_revoke"),
    path("reports/", other_views.subscriptions, name="subscriptions"),
    path("analytics-settings/", other_views.analytics_settings, name="analytics_settings"),
]
