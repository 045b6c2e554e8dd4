"""Public: read-only shared dashboards (/shared/<token>/), mounted by kaiku/urls.py."""

from django.urls import path

from kaiku.insights.other_views import shared_dashboard

urlpatterns = [path("<str:token>/", shared_dashboard, name="shared_dashboard")]
