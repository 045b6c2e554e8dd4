"""The first screen: "/" routing and each workspace's survey list with figures."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kaiku.accounts.models import Membership, Role, User, Workspace
from kaiku.insights.queries import score_histograms
from kaiku.responses.models import Response
from kaiku.surveys.models import Survey
from tests.base import PASSWORD, BaseTestCase

URL = "/w/acme/"


def answer(survey: Survey, *scores: int, days_ago: float = 1, channel: str = "email") -> None:
    at = timezone.now() - timedelta(days=days_ago)
    Response.objects.bulk_create(
        Response(
            workspace_id=survey.workspace_id,
            survey=survey,
            score=score,
            scale_min=survey.scale_min,
            scale_max=survey.scale_max,
            channel=channel,
            created_at=at,
        )
        for score in scores
    )


def row_html(content: str, survey: Survey) -> str:
    """The table row of one survey (rows carry data-survey="<id>")."""
    match = re.search(rf'<tr [^>]*data-survey="{survey.pk}".*?</tr>', content, re.S)
    assert match, f"no row for {survey.name}"
    return " ".join(match.group(0).split())


class HomeTestCase(BaseTestCase):
    def test_anonymous_is_sent_to_log_in(self) -> None:
        self.assertRedirects(self.client.get("/"), "/accounts/login/?next=/")
        self.assertRedirects(self.client.get(URL), f"/accounts/login/?next={URL}")

    def test_a_member_of_one_workspace_goes_straight_there(self) -> None:
        self.login_as(self.bob)
        self.assertRedirects(self.client.get("/"), URL)

    def test_a_member_of_several_workspaces_chooses(self) -> None:
        Membership.objects.create(workspace=self.charlies_workspace, user=self.alice)
        self.login_as(self.alice)
        response = self.client.get("/")
        assert response.status_code == 200
        self.assertTemplateUsed(response, "insights/home_choose.html")
        self.assertContains(response, 'href="/w/acme/"')
        self.assertContains(response, 'href="/w/globex/"')
        self.assertContains(response, "Owner")

    def test_the_chooser_lists_only_the_users_own_workspaces(self) -> None:
        Workspace.objects.create(name="Initech", slug="initech")
        other = Workspace.objects.create(name="Umbrella", slug="umbrella")
        Membership.objects.create(workspace=other, user=self.alice, role=Role.VIEWER)
        self.login_as(self.alice)
        response = self.client.get("/")
        self.assertContains(response, "Umbrella")
        self.assertNotContains(response, "Initech")
        self.assertNotContains(response, "Globex")

    def test_someone_without_a_workspace_gets_a_friendly_page(self) -> None:
        loner = User.objects.create_user("dana@example.org", PASSWORD)
        self.login_as(loner)
        response = self.client.get("/")
        assert response.status_code == 200
        self.assertTemplateUsed(response, "insights/home_empty.html")
        self.assertContains(response, "not a member of any workspace")


class SurveyListTestCase(BaseTestCase):
    def test_it_shows_the_nps_with_its_interval_and_band(self) -> None:
        # 3 promoters, 2 passives, 1 detractor: NPS = 100 * (3 - 1) / 6 = 33.3;
        # adjusted Wald (+0.75/1.5/0.75): centre 22.2, moe 49.0 -> [-26.7, 71.2].
        answer(self.survey, 10, 9, 9, 8, 7, 3)
        self.login_as(self.alice)
        response = self.client.get(URL)
        row = row_html(response.content.decode(), self.survey)
        assert "Relationship NPS" in row
        assert '<span class="value">33.3</span>' in row
        assert "[-26.7, 71.2]" in row
        assert "± 49.0" in row
        assert ">6<" in row.replace(" ", "")
        assert "band-good" in row
        assert "Good" in row

    def test_a_low_base_is_greyed_with_a_note(self) -> None:
        answer(self.survey, 10, 9, 9, 8, 7, 3)
        self.login_as(self.alice)
        row = row_html(self.client.get(URL).content.decode(), self.survey)
        assert "low-base" in row
        assert "low base" in row

    def test_a_large_base_is_not_greyed(self) -> None:
        answer(self.survey, *([10] * 200 + [8] * 100 + [2] * 50))
        self.login_as(self.alice)
        row = row_html(self.client.get(URL).content.decode(), self.survey)
        assert "low-base" not in row
        assert '<span class="value">42.9</span>' in row  # 100 * 150 / 350

    def test_figures_are_rounded_half_up(self) -> None:
        # 150 promoters, 149 passives, 101 detractors: NPS = 100 * 49 / 400 = 12.25
        # exactly, which is 12.3 half-up (Python's round() would say 12.2).
        answer(self.survey, *([9] * 150 + [7] * 149 + [0] * 101))
        self.login_as(self.alice)
        row = row_html(self.client.get(URL).content.decode(), self.survey)
        assert '<span class="value">12.3</span>' in row

    def test_fewer_than_five_answers_are_not_shown(self) -> None:
        answer(self.survey, 10, 10, 0, 9)
        self.login_as(self.alice)
        row = row_html(self.client.get(URL).content.decode(), self.survey)
        assert "fewer than 5 answers" in row
        assert "—" in row
        assert "is-hidden" in row
        assert "[" not in row  # no interval
        assert "band band-" not in row
        assert "split" not in row  # the promoter/detractor bar would give it away

    def test_a_survey_without_answers_says_so(self) -> None:
        self.login_as(self.alice)
        row = row_html(self.client.get(URL).content.decode(), self.survey)
        assert "no answers" in row

    def test_answers_older_than_90_days_are_left_out(self) -> None:
        answer(self.survey, 10, 10, 10, 10, 10, days_ago=89)
        answer(self.survey, 0, 0, 0, 0, 0, 0, days_ago=91)
        self.login_as(self.alice)
        row = row_html(self.client.get(URL).content.decode(), self.survey)
        assert '<span class="value">100.0</span>' in row
        assert ">5<" in row.replace(" ", "")

    def test_it_shows_csat_as_percent_satisfied_with_a_wilson_interval(self) -> None:
        csat = Survey.objects.create(workspace=self.workspace, name="Support CSAT", kind="csat")
        answer(csat, 5, 5, 4, 4, 3, 2)
        self.login_as(self.alice)
        row = row_html(self.client.get(URL).content.decode(), csat)
        assert "CSAT (% satisfied)" in row
        assert "66.7" in row  # 4 of 6 answered 4-5
        assert "[30.0, 90.3]" in row  # Wilson, 95%
        assert "band band-" not in row  # bands are for NPS only

    def test_it_shows_ces_as_a_mean_with_a_t_interval(self) -> None:
        ces = Survey.objects.create(workspace=self.workspace, name="Ticket effort", kind="ces")
        answer(ces, 3, 4, 4, 5, 5, 5, 6, 6, 7, 7)
        self.login_as(self.alice)
        row = row_html(self.client.get(URL).content.decode(), ces)
        assert "CES (mean)" in row
        assert '<span class="value">5.20</span>' in row  # 52 / 10
        assert "[4.26, 6.14]" in row  # mean ± t(0.975, 9) * sd / sqrt(10)
        assert "± 0.94" in row

    def test_another_workspaces_surveys_and_answers_never_show(self) -> None:
        secret = Survey.objects.create(workspace=self.charlies_workspace, name="Globex secret")
        answer(secret, *([0] * 40))
        answer(self.survey, 10, 10, 10, 10, 10)
        self.login_as(self.alice)
        response = self.client.get(URL)
        self.assertNotContains(response, "Globex secret")
        row = row_html(response.content.decode(), self.survey)
        assert '<span class="value">100.0</span>' in row
        assert ">5<" in row.replace(" ", "")

    def test_an_agent_sees_the_list_too(self) -> None:
        answer(self.survey, 10, 9, 9, 8, 7, 3)
        self.login_as(self.bob)
        self.assertContains(self.client.get(URL), "33.3")

    def test_an_outsider_gets_404(self) -> None:
        answer(self.survey, 10, 9, 9, 8, 7, 3)
        self.assertRefusedToOutsider(URL)

    def test_an_unknown_workspace_is_404(self) -> None:
        self.login_as(self.alice)
        assert self.client.get("/w/nope/").status_code == 404

    def test_the_number_of_queries_does_not_grow_with_surveys(self) -> None:
        answer(self.survey, 10, 9, 9, 8, 7, 3)
        self.login_as(self.alice)
        # session, user, membership (+ workspace), surveys, one aggregate.
        with self.assertNumQueries(5):
            self.client.get(URL)
        for number in range(8):
            survey = Survey.objects.create(
                workspace=self.workspace,
                name=f"Survey {number}",
                kind=("nps", "csat", "ces")[number % 3],
            )
            answer(survey, *range(survey.scale_min, survey.scale_max + 1))
        with CaptureQueriesContext(connection) as queries, self.assertNumQueries(5):
            response = self.client.get(URL)
        self.assertContains(response, "Survey 7")
        aggregates = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"]]
        assert len(aggregates) == 1
        assert "GROUP BY" in aggregates[0]
        assert "ORDER BY" not in aggregates[0]


class ScoreHistogramsTestCase(BaseTestCase):
    def test_it_counts_scores_per_group_in_one_query(self) -> None:
        answer(self.survey, 10, 10, 3, channel="email")
        answer(self.survey, 7, channel="kiosk")
        since = timezone.now() - timedelta(days=7)
        with self.assertNumQueries(1):
            by_survey = score_histograms(self.workspace, since)
        assert by_survey == {(self.survey.pk,): [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 2]}
        by_channel = score_histograms(self.workspace, since, group_by=("survey_id", "channel"))
        assert by_channel[(self.survey.pk, "email")] == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 2]
        assert by_channel[(self.survey.pk, "kiosk")] == [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]

    def test_until_is_exclusive_and_since_inclusive(self) -> None:
        answer(self.survey, 1, days_ago=10)
        answer(self.survey, 2, days_ago=5)
        answer(self.survey, 3, days_ago=1)
        now = timezone.now()
        result = score_histograms(
            self.workspace, now - timedelta(days=6), until=now - timedelta(days=2)
        )
        assert result == {(self.survey.pk,): [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]}

    def test_it_sees_only_the_workspace_given(self) -> None:
        secret = Survey.objects.create(workspace=self.charlies_workspace, name="Globex")
        answer(secret, 0, 0)
        since = timezone.now() - timedelta(days=7)
        assert score_histograms(self.workspace, since) == {}

    def test_score_is_not_a_group(self) -> None:
        with pytest.raises(ValueError, match="score"):
            score_histograms(self.workspace, timezone.now(), group_by=("score",))
