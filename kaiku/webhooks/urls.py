"""Webhooks and event rules pages, mounted at /w/<slug>/webhooks/ by kaiku/urls.py."""

from django.urls import path

from kaiku.webhooks import rule_views, views

app_name = "webhooks"

urlpatterns = [
    path("", views.endpoints, name="list"),
    path("<int:webhookendpoint_id>/", views.detail, name="detail"),
    path("<int:webhookendpoint_id>/test/", views.send_test, name="test"),
    path("<int:webhookendpoint_id>/enable/", views.enable, name="enable"),
    path("<int:webhookendpoint_id>/roll-secret/", views.roll, name="roll_secret"),
    path("<int:webhookendpoint_id>/delete/", views.delete, name="delete"),
    path(
        "<int:webhookendpoint_id>/deliveries/<int:webhookdelivery_id>/redeliver/",
        views.redeliver_view,
        name="redeliver",
    ),
    path("rules/", rule_views.rules, name="rules"),
    path("rules/<int:eventrule_id>/", rule_views.edit_rule, name="rule"),
    path("rules/<int:eventrule_id>/delete/", rule_views.delete_rule, name="delete_rule"),
]
