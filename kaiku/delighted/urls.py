"""/delighted/v1/, mounted by kaiku/urls.py.

Delighted's clients use both `people.json` (older clients, the docs' curl
examples) and `people` (newer clients join paths without the suffix), with
or without a trailing slash: every route accepts all of them.
"""

from __future__ import annotations

from django.urls import re_path

from kaiku.delighted import views
from kaiku.delighted.http import unknown_route

END = r"(?:\.json)?/?$"

urlpatterns = [
    re_path(rf"^people{END}", views.people, name="delighted-people"),
    re_path(
        rf"^people/(?P<identifier>[^/]+)/survey_requests/pending{END}",
        views.pending_requests,
        name="delighted-pending",
    ),
    # Non-greedy, so that a `.json` suffix is not taken as part of the identifier.
    re_path(rf"^people/(?P<identifier>[^/]+?){END}", views.person, name="delighted-person"),
    re_path(rf"^survey_responses{END}", views.survey_responses, name="delighted-responses"),
    re_path(
        rf"^survey_responses/(?P<response_id>\d{{1,18}}){END}",
        views.survey_response,
        name="delighted-response",
    ),
    re_path(rf"^metrics{END}", views.metrics, name="delighted-metrics"),
    re_path(rf"^unsubscribes{END}", views.unsubscribes, name="delighted-unsubscribes"),
    re_path(rf"^bounces{END}", views.bounces, name="delighted-bounces"),
    re_path(
        rf"^autopilot/(?P<platform>[a-z]+)/memberships{END}",
        views.autopilot_memberships,
        name="delighted-autopilot-memberships",
    ),
    re_path(rf"^autopilot/(?P<platform>[a-z]+){END}", views.autopilot, name="delighted-autopilot"),
    re_path(r"", unknown_route),
]
