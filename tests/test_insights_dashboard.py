"""The survey dashboard and its pages: figures by hand, privacy rules, roles, query counts."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kaiku import metrics
from kaiku.accounts.models import Membership, Role, User
from kaiku.contacts.models import Contact
from kaiku.insights.dashboard import Options, build_dashboard
from kaiku.insights.models import Goal
from kaiku.insights.queries.filters import ResponseFilter
from kaiku.insights.queries.grouped import Scope
from kaiku.responses.models import Response
from kaiku.surveys.models import Invitation, InvitationStatus, Survey
from tests.base import PASSWORD, BaseTestCase

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)  # 14:00 in Helsinki
MARCH = "from=2026-03-01&to=2026-03-31"


def answers(survey: Survey, scores: list[int], day: date, **fields: Any) -> None:
    at = datetime(day.year, day.month, day.day, 10, tzinfo=UTC)
    Response.objects.bulk_create(
        Response(
            workspace_id=survey.workspace_id,
            survey=survey,
            score=score,
            scale_min=survey.scale_min,
            scale_max=survey.scale_max,
            channel=fields.get("channel", "email"),
            language=fields.get("language", "fi"),
            comment=fields.get("comment", ""),
            properties=fields.get("properties", {}),
            created_at=at,
        )
        for score in scores
    )


@time_machine.travel(NOW, tick=False)
class DashboardTestCase(BaseTestCase):
    def url(self, suffix: str = "", query: str = MARCH, survey: Survey | None = None) -> str:
        survey = survey or self.survey
        return f"/w/acme/surveys/{survey.pk}/dashboard/{suffix}?{query}"

    def get(self, suffix: str = "", query: str = MARCH) -> str:
        self.login_as(self.alice)
        response = self.client.get(self.url(suffix, query))
        assert response.status_code == 200, response.content[:500]
        return response.content.decode()


class HeadlineTests(DashboardTestCase):
    def test_the_headline_is_the_nps_with_its_interval_n_and_band(self) -> None:
        # March: 3 promoters, 2 passives, 1 detractor → NPS 33.3, adjusted Wald [-26.7, 71.2].
        answers(self.survey, [10, 9, 9, 8, 7, 3], date(2026, 3, 10))
        html = self.get()
        assert 'data-testid="headline-value">33.3<' in html
        assert "[-26.7, 71.2]" in html
        assert 'data-testid="headline-n">6<' in html
        assert "band-good" in html
        assert "low base" in html

    def test_the_change_vs_the_previous_period_has_its_p_value(self) -> None:
        # February (the previous 31 days: 29 Jan – 28 Feb): 20/0/10; March: 12/0/18.
        answers(self.survey, [10] * 20 + [0] * 10, date(2026, 2, 10))
        answers(self.survey, [10] * 12 + [0] * 18, date(2026, 3, 10))
        test = metrics.compare_nps(metrics.NpsCounts(12, 0, 18), metrics.NpsCounts(20, 0, 10))
        html = self.get()
        delta = metrics.round_half_up(test.delta, 1)
        assert f">{delta}<" in html.replace(" ", "")
        assert f"p = {metrics.round_half_up(test.p_value, 4)}" in html
        assert "significant" in html
        assert (test.p_value < 0.05) == (", significant" in html)

    def test_fewer_than_five_answers_show_nothing(self) -> None:
        answers(self.survey, [10, 0, 9, 9], date(2026, 3, 10))
        html = self.get()
        assert "Fewer than 5 answers" in html
        assert "headline-value" not in html
        assert "distribution-chart" not in html

    def test_the_distribution_lists_all_eleven_scores(self) -> None:
        answers(self.survey, [10, 9, 9, 8, 7, 3, 0], date(2026, 3, 10))
        html = self.get()
        table = re.search(r"Show the numbers as a table.*?</table>", html, re.S)
        assert table
        assert len(re.findall(r'<th scope="row">\d+</th>', table.group(0))) == 11

    def test_filters_apply_to_every_figure_and_stay_in_the_url(self) -> None:
        answers(self.survey, [10] * 6, date(2026, 3, 10), channel="email")
        answers(self.survey, [0] * 6, date(2026, 3, 10), channel="kiosk")
        html = self.get(query=MARCH + "&channel=kiosk")
        assert 'data-testid="headline-value">-100.0<' in html
        assert 'value="kiosk" selected' in html
        assert "channel=kiosk" in html  # links to the other pages keep the filter

    def test_a_bad_filter_is_reported_and_ignored(self) -> None:
        html = self.get(query="from=not-a-date")
        assert "Filter ignored" in html

    def test_csat_and_ces_surveys_show_their_own_figures(self) -> None:
        csat = Survey.objects.create(workspace=self.workspace, name="CSAT", kind="csat")
        answers(csat, [5, 5, 4, 4, 3, 2], date(2026, 3, 10))
        self.login_as(self.alice)
        html = self.client.get(self.url(survey=csat)).content.decode()
        assert "66.7" in html
        assert "[30.0, 90.3]" in html
        ces = Survey.objects.create(workspace=self.workspace, name="CES", kind="ces")
        answers(ces, [3, 4, 4, 5, 5, 5, 6, 6, 7, 7], date(2026, 3, 10))
        html = self.client.get(self.url(survey=ces)).content.decode()
        assert 'data-testid="headline-value">5.20<' in html
        assert "[4.26, 6.14]" in html  # t-interval

    def test_the_page_makes_the_same_number_of_queries_whatever_the_data(self) -> None:
        self.login_as(self.alice)
        answers(self.survey, [10, 9, 8, 0, 5], date(2026, 3, 10), properties={"plan": "pro"})
        Goal.objects.create(
            workspace=self.workspace,
            survey=self.survey,
            metric="nps",
            target=30,
            period_start=date(2026, 1, 1),
            period_end=date(2026, 3, 31),
        )
        url = self.url(query=MARCH + "&by=plan&period=week")
        with CaptureQueriesContext(connection) as small:
            self.client.get(url)
        for month in range(1, 4):
            for plan in ("pro", "basic", "free"):
                answers(
                    self.survey, [10, 9, 7, 3] * 5, date(2026, month, 5), properties={"plan": plan}
                )
        with CaptureQueriesContext(connection) as large:
            self.client.get(url)
        assert len(large.captured_queries) == len(small.captured_queries)
        unions = [q["sql"] for q in large.captured_queries if "UNION ALL" in q["sql"]]
        assert len(unions) == 1  # every figure on the page from one histogram statement
        # The page's own: session, user, membership, survey, goals, property sample, rollup
        # state, histograms, funnel, shares; sections other apps add bring their own.
        assert len(large.captured_queries) >= 10
        # The figures themselves: the rollup state, then one statement for everything.
        flt = ResponseFilter(since=date(2026, 1, 1), until=date(2026, 3, 31))
        goals = list(Goal.objects.all())
        with self.assertNumQueries(2 if connection.vendor != "postgresql" else 5):
            build_dashboard(Scope.of(self.survey), flt, Options("week", "plan"), goals)


class SegmentTests(DashboardTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        day = date(2026, 3, 10)
        answers(cls.survey, [10] * 30 + [0] * 5, day, properties={"plan": "pro"})
        answers(cls.survey, [10] * 10 + [0] * 25, day, properties={"plan": "basic"})
        answers(cls.survey, [9] * 20 + [7] * 10, day, properties={"plan": "free"})
        answers(cls.survey, [0, 0, 10], day, properties={"plan": "tiny"})

    def test_each_value_is_tested_against_the_rest_with_bh(self) -> None:
        html = self.get(query=MARCH + "&by=plan")
        table = re.search(r'data-testid="segment-plan".*?</table>', html, re.S)
        assert table
        rows = re.findall(r'<th scope="row">(\w+)', table.group(0))
        assert rows == ["basic", "pro", "free"]  # n desc: 35, 35, 30 (ties by value)
        counts = {
            "pro": metrics.NpsCounts(30, 0, 5),
            "basic": metrics.NpsCounts(10, 0, 25),
            "free": metrics.NpsCounts(20, 10, 0),
            "tiny": metrics.NpsCounts(1, 0, 2),
        }
        everyone = metrics.NpsCounts(0, 0, 0)
        for c in counts.values():
            everyone = everyone + c

        def rest(c: metrics.NpsCounts) -> metrics.NpsCounts:
            return metrics.NpsCounts(
                everyone.promoters - c.promoters,
                everyone.passives - c.passives,
                everyone.detractors - c.detractors,
            )

        # "tiny" is hidden (n < 5) but still part of everyone else's rest.
        tests = {v: metrics.compare_nps(c, rest(c)) for v, c in counts.items() if v != "tiny"}
        q = dict(
            zip(tests, metrics.benjamini_hochberg([t.p_value for t in tests.values()]), strict=True)
        )
        for value, qv in q.items():
            assert f"{metrics.round_half_up(qv, 4)}" in table.group(0), value

    def test_values_with_fewer_than_five_answers_are_hidden(self) -> None:
        html = self.get(query=MARCH + "&by=plan")
        table = re.search(r'data-testid="segment-plan".*?</section>', html, re.S)
        assert table
        assert "tiny" not in table.group(0)
        assert "1 value with fewer than 5 answers is hidden" in table.group(0)

    def test_the_comparison_view_tests_this_period_against_the_last(self) -> None:
        answers(self.survey, [10] * 10 + [0] * 10, date(2026, 2, 10), properties={"plan": "pro"})
        html = self.get("compare/", query=MARCH + "&by=plan")
        assert 'data-testid="compare-table"' in html
        test = metrics.compare_nps(metrics.NpsCounts(30, 0, 5), metrics.NpsCounts(10, 0, 10))
        assert f"{metrics.round_half_up(test.delta, 1)}" in html
        assert "basic" not in re.sub(r"<option.*?</option>", "", html)  # no February answers


class GoalAndSampleSizeTests(DashboardTestCase):
    def goal(self, target: float, **fields: Any) -> Goal:
        return Goal.objects.create(
            workspace=self.workspace,
            survey=self.survey,
            metric="nps",
            target=target,
            period_start=date(2026, 3, 1),
            period_end=date(2026, 3, 31),
            **fields,
        )

    def test_goal_status_compares_the_target_with_the_interval(self) -> None:
        answers(self.survey, [10] * 80 + [8] * 10 + [0] * 10, date(2026, 3, 10))  # NPS 70
        ci = metrics.nps_ci(metrics.NpsCounts(80, 10, 10))
        self.goal(ci[0] - 1)
        self.goal(ci[1] + 1)
        self.goal(70)
        self.goal(70, segment_property="plan", segment_value="pro")
        html = self.get()
        assert "reached: the target is below the 95% interval" in html
        assert "not reached: the target is above the 95% interval" in html
        assert "too close to call" in html
        assert "+0 from the target" in html  # NPS 70 against the target 70
        assert "Fewer than 5 answers so far." in html  # the segment has no answers

    def test_the_sample_size_helper_uses_the_worst_case_without_data(self) -> None:
        html = self.get()
        assert "<strong>1534</strong>" in html  # ±5 points, Var = 1 (domain.md §1.4)

    def test_the_sample_size_helper_uses_this_surveys_mix(self) -> None:
        answers(self.survey, [10] * 50 + [8] * 30 + [0] * 20, date(2026, 3, 10))
        variance = metrics.nps_variance(metrics.NpsCounts(50, 30, 20))
        html = self.get()
        assert f"<strong>{metrics.sample_size_for_margin(5, variance)}</strong>" in html
        n = metrics.sample_size_for_difference(5, variance, variance)
        assert f"<strong>{n}</strong>" in html

    def test_owners_add_and_delete_goals_and_agents_may_not(self) -> None:
        url = f"/w/acme/surveys/{self.survey.pk}/goals/"
        data = {"target": "40", "period_start": "2026-01-01", "period_end": "2026-03-31"}
        self.login_as(self.bob)
        assert self.client.post(url, data).status_code == 403
        self.login_as(self.alice)
        self.client.post(url, {**data, "segment": "plan:pro"})
        goal = Goal.objects.get()
        assert (goal.target, goal.segment_property, goal.segment_value) == (40, "plan", "pro")
        assert self.client.post(url, {**data, "target": "400"}).status_code == 302
        assert Goal.objects.count() == 1  # out of range: refused
        self.client.post(f"/w/acme/surveys/{self.survey.pk}/goals/{goal.pk}/delete/")
        assert not Goal.objects.exists()

    def test_a_viewer_sees_the_dashboard(self) -> None:
        viewer = User.objects.create_user("vera@example.org", PASSWORD)
        Membership.objects.create(workspace=self.workspace, user=viewer, role=Role.VIEWER)
        self.client.force_login(viewer)
        response = self.client.get(self.url())
        assert response.status_code == 200
        assert b"Add a goal" not in response.content


class FunnelAndRetentionTests(DashboardTestCase):
    def test_the_funnel_counts_invitations_and_throttling(self) -> None:
        contact = Contact.objects.create(workspace=self.workspace, email="ann@example.org")
        at = datetime(2026, 3, 5, 9, tzinfo=UTC)
        sent = {"sent_at": at}
        specs: list[dict[str, Any]] = [
            {"status": InvitationStatus.SENT, **sent},
            {"status": InvitationStatus.SENT, **sent},
            {"status": InvitationStatus.OPENED, "opened_at": at, **sent},
            {"status": InvitationStatus.RESPONDED, "opened_at": at, "responded_at": at, **sent},
            {"status": InvitationStatus.FAILED, **sent},
            {"status": InvitationStatus.SKIPPED, "status_reason": "throttled"},
            {"status": InvitationStatus.SKIPPED, "status_reason": "unsubscribed"},
        ]
        for spec in specs:
            Invitation.objects.create(
                workspace=self.workspace, survey=self.survey, contact=contact, send_at=at, **spec
            )
        html = self.get()
        funnel = re.search(r'data-testid="funnel".*?</table>', html, re.S)
        assert funnel
        cells = re.findall(r'<td class="num">([^<]*)', funnel.group(0))
        # invited 5 (skipped ones are not), delivered 4 (failed is not), opened 2, answered 1.
        assert cells[:4] == ["5", "4", "2", "1"]
        low, high = metrics.wilson_interval(1, 4)
        rate = f'25.0&#8239;% <span class="muted">[{metrics.round_half_up(100 * low, 1)}, '
        assert rate in funnel.group(0)
        assert f"{metrics.round_half_up(100 * high, 1)}]" in funnel.group(0)
        assert '<td class="num">1</td></tr>' in funnel.group(0)  # one throttled

    def test_retention_by_cohort_and_by_nps_group(self) -> None:
        lifecycles = [
            ("2024-05-01", None, 10),  # 2024 cohort, stays, promoter in Feb
            ("2024-06-01", "2026-03-15", 0),  # 2024 cohort, churns in March, detractor
            ("2025-01-10", None, 8),  # 2025 cohort, stays, passive
            ("2025-02-01", "2026-02-20", None),  # churned before March: not at start
            ("2026-03-10", None, None),  # new in March: not in the cohort
        ]
        for number, (since, churned, score) in enumerate(lifecycles):
            properties = {"customer_since": since}
            if churned:
                properties["churned_at"] = churned
            contact = Contact.objects.create(
                workspace=self.workspace, email=f"c{number}@example.org", properties=properties
            )
            if score is not None:
                Response.objects.create(
                    workspace=self.workspace,
                    survey=self.survey,
                    contact=contact,
                    score=score,
                    channel="email",
                    created_at=datetime(2026, 2, 10, 10, tzinfo=UTC),
                )
        html = self.get("retention/")
        cohorts = re.search(r'data-testid="retention-cohorts".*?</table>', html, re.S)
        assert cohorts
        text = " ".join(re.sub(r"<[^>]+>", " ", cohorts.group(0)).split())
        assert "2024 2 1 50.0" in text
        assert "2025 1 1 100.0" in text
        assert "All cohorts 3 2 66.7" in text
        groups = re.search(r'data-testid="retention-groups".*?</table>', html, re.S)
        assert groups
        text = " ".join(re.sub(r"<[^>]+>", " ", groups.group(0)).split())
        assert "Promoters (9–10) 1 1 100.0" in text
        assert "Passives (7–8) 1 1 100.0" in text
        assert "Detractors (0–6) 1 0 0.0" in text


class CommentTests(DashboardTestCase):
    def test_comments_are_escaped_searchable_and_paginated(self) -> None:
        answers(
            self.survey,
            [2],
            date(2026, 3, 12),  # newest: on the first page
            comment="<script>alert('x')</script> slow delivery",
            properties={"plan": "basic"},
        )
        answers(self.survey, [10] * 30, date(2026, 3, 11), comment="great boots")
        html = self.get("comments/")
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
        assert "<script>alert" not in html
        assert "Page 1 of 2" in html
        html = self.get("comments/", query=MARCH + "&q=DELIVERY")
        assert "1 comment" in html
        assert "great boots" not in html
        html = self.get("comments/", query=MARCH + "&group=high")
        assert "slow delivery" not in html


class ShareTests(DashboardTestCase):
    def test_a_shared_link_shows_figures_but_no_personal_data_then_expires(self) -> None:
        answers(
            self.survey,
            [10] * 20 + [3] * 5,
            date(2026, 3, 10),
            comment="Call me, Ann Example",
            properties={"plan": "pro", "company": "Acme Buyer Oy", "email": "ann@example.org"},
        )
        self.login_as(self.alice)
        response = self.client.post(
            f"/w/acme/surveys/{self.survey.pk}/shares/?{MARCH}&by=company", {"days": "7"}
        )
        link = re.search(r'value="(http://[^"]+/shared/[^"]+/)"', response.content.decode())
        assert link
        path = link.group(1).split("127.0.0.1:8000", 1)[-1]
        self.client.logout()
        public = self.client.get(path)
        assert public.status_code == 200
        body = public.content.decode()
        assert "60.0" in body  # NPS of 20/0/5
        for personal in ("Ann Example", "Acme Buyer Oy", "ann@example.org", "Call me"):
            assert personal not in body
        with time_machine.travel(NOW + timedelta(days=8)):
            assert self.client.get(path).status_code == 404

    def test_a_revoked_link_stops_working(self) -> None:
        self.login_as(self.alice)
        response = self.client.post(f"/w/acme/surveys/{self.survey.pk}/shares/?{MARCH}")
        link = re.search(r"/shared/([^/\"]+)/", response.content.decode())
        assert link
        from kaiku.insights.models import DashboardShare

        share = DashboardShare.objects.get()
        self.client.post(f"/w/acme/surveys/{self.survey.pk}/shares/{share.pk}/revoke/")
        self.client.logout()
        assert self.client.get(f"/shared/{link.group(1)}/").status_code == 404
        assert self.client.get("/shared/not-a-token/").status_code == 404

    def test_agents_cannot_share(self) -> None:
        self.login_as(self.bob)
        response = self.client.post(f"/w/acme/surveys/{self.survey.pk}/shares/")
        assert response.status_code == 403


class OutsiderTests(DashboardTestCase):
    def test_charlie_gets_404_on_every_dashboard_route(self) -> None:
        goal = Goal.objects.create(
            workspace=self.workspace,
            survey=self.survey,
            metric="nps",
            target=1,
            period_start=date(2026, 1, 1),
            period_end=date(2026, 1, 2),
        )
        base = f"/w/acme/surveys/{self.survey.pk}/"
        for suffix in (
            "dashboard/",
            "dashboard/compare/",
            "dashboard/comments/",
            "dashboard/retention/",
            "dashboard/answers.csv",
            "dashboard/table.csv",
            "dashboard/report/",
            "dashboard/report.pdf",
            "goals/",
            f"goals/{goal.pk}/delete/",
            "shares/",
            "shares/1/revoke/",
        ):
            for method in ("get", "post"):
                with self.subTest(suffix=suffix, method=method):
                    self.assertRefusedToOutsider(base + suffix, method)
        for path in ("/w/acme/reports/", "/w/acme/analytics-settings/"):
            self.assertRefusedToOutsider(path)
            self.assertRefusedToOutsider(path, "post")

    def test_charlies_own_workspace_cannot_reach_acmes_survey(self) -> None:
        self.client.force_login(self.charlie)
        url = f"/w/globex/surveys/{self.survey.pk}/dashboard/"
        assert self.client.get(url).status_code == 404


class CombinedNpsTests(DashboardTestCase):
    def test_the_first_screen_pools_the_chosen_nps_surveys_without_extra_queries(self) -> None:
        other = Survey.objects.create(workspace=self.workspace, name="Onboarding", kind="nps")
        answers(self.survey, [10] * 20 + [0] * 10, date(2026, 3, 10))  # 20/0/10
        answers(other, [10] * 12 + [8] * 3, date(2026, 3, 20))  # 12/3/0
        self.login_as(self.alice)
        url = f"/w/acme/?combine={self.survey.pk}&combine={other.pk}"
        with self.assertNumQueries(5):  # as without combining: the histograms are shared
            html = self.client.get(url).content.decode()
        pooled = metrics.nps_stats(metrics.NpsCounts(32, 3, 10))
        assert f'<strong class="combined-value">{metrics.round_half_up(pooled.nps or 0, 1)}' in html
        assert "n = 45" in html
        assert (
            self.client.get(f"/w/acme/?combine={self.survey.pk}").content.count(b"combined-value")
            == 0
        )
