"""Loop metrics: contacted share, median times, overdue, recovery rate (Wilson), categories."""

from __future__ import annotations

from datetime import datetime, timedelta

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kaiku.loop import actions
from kaiku.loop.categories import categories
from kaiku.loop.metrics import (
    LoopMetrics,
    format_duration,
    loop_metrics,
    loop_metrics_by_survey,
)
from kaiku.loop.models import Case
from kaiku.metrics import round_half_up, wilson_interval
from kaiku.surveys.models import Survey
from tests.test_loop_base import LoopTestCase

T0 = datetime.fromisoformat("2026-03-02 09:00:00+00:00")


class LoopMetricsTest(LoopTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.service = categories(self.workspace).get(key="service")
        self.price = categories(self.workspace).get(key="price")
        with time_machine.travel(T0, tick=False):
            self.cases = [self.case_for(self.answer(score)) for score in (1, 2, 3, 4)]
            self.loop_settings(open_for_passives=True)
            self.passive_case = self.case_for(self.answer(8))
            self.loop_settings(open_for_passives=False)
            self.answer(5)  # a detractor answer whose case is...
        Case.objects.filter(response__score=5).delete()  # ...gone: nobody contacted them
        # (first action after, resolution after, category) of the first three cases.
        plan = [(1, 5, self.service), (3, 25, self.service), (2, 10, self.price)]
        for case, (first, done, category) in zip(self.cases, plan, strict=False):
            with time_machine.travel(T0 + timedelta(hours=first), tick=False):
                actions.change_status(case, "waiting", actor=self.bob)
            with time_machine.travel(T0 + timedelta(hours=done), tick=False):
                actions.resolve(case, category, actor=self.bob)

    def metrics(self, surveys: list[Survey] | None = None) -> LoopMetrics:
        return loop_metrics(
            self.workspace,
            T0 - timedelta(days=1),
            T0 + timedelta(days=1),
            surveys or [],
            now=T0 + timedelta(days=3),
        )

    def test_median_times_overdue_and_categories(self) -> None:
        m = self.metrics()
        assert m.cases == 5
        assert m.open_cases == 2
        assert m.median_first_action == timedelta(hours=2)
        assert m.median_resolution == timedelta(hours=10)
        assert m.overdue == 2  # the 4 and the passive, due after 48 h
        assert m.categories == [("Service or support", 2), ("Price or billing", 1)]

    def test_share_of_detractors_contacted_counts_every_detractor_answer(self) -> None:
        m = self.metrics()
        # Five detractor answers (1, 2, 3, 4, 5); three cases waited for the customer.
        assert (m.contacted.hits, m.contacted.n, m.contacted.pct) == (3, 5, 60.0)
        lo, hi = wilson_interval(3, 5)
        assert m.contacted.ci95 == (round_half_up(100 * lo), round_half_up(100 * hi))

    def test_recovery_rate_with_a_wilson_interval(self) -> None:
        Case.objects.filter(pk__in=[c.pk for c in self.cases[:3]]).update(
            recovery_score=9, recovered=True
        )
        Case.objects.filter(pk=self.cases[3].pk).update(recovery_score=4, recovered=False)
        Case.objects.filter(pk=self.passive_case.pk).update(recovery_score=10, recovered=None)
        m = self.metrics()
        assert (m.recovery.hits, m.recovery.n, m.recovery.pct) == (3, 4, 75.0)
        assert m.recovery.ci95 == (30.1, 95.4)  # Wilson, 95%

    def test_a_survey_filter_and_an_empty_period(self) -> None:
        other = Survey.objects.create(workspace=self.workspace, name="Other")
        empty = self.metrics([other])
        assert empty.cases == 0
        assert empty.recovery.pct is None
        assert empty.median_resolution is None
        assert empty.contacted.ci95 is None
        assert self.metrics([self.survey]).cases == 5

    def test_durations_read_like_people_write_them(self) -> None:
        assert format_duration(None) == "—"
        assert format_duration(timedelta(minutes=42)) == "42 min"
        assert format_duration(timedelta(hours=3, minutes=20)) == "3 h 20 min"
        assert format_duration(timedelta(days=2, hours=4, minutes=59)) == "2 d 4 h"

    def test_the_survey_dashboard_shows_the_loop_section(self) -> None:
        self.login_as(self.vic)
        with time_machine.travel(T0 + timedelta(days=3)):
            page = self.client.get(f"/w/acme/surveys/{self.survey.pk}/dashboard/")
        self.assertContains(page, "Closing the loop")
        self.assertContains(page, 'data-testid="first-action">2 h 0 min<')
        self.assertContains(page, 'data-testid="resolution">10 h 0 min<')
        self.assertContains(page, "Service or support")

    def test_the_overview_costs_the_same_whatever_the_number_of_surveys(self) -> None:
        self.login_as(self.alice)

        def queries() -> int:
            with CaptureQueriesContext(connection) as captured:
                assert self.client.get("/w/acme/cases/overview/").status_code == 200
            return len(captured)

        before = queries()
        for name in ("Support", "Onboarding", "Renewal"):
            survey = Survey.objects.create(workspace=self.workspace, name=name)
            self.answer(2, survey=survey)
        assert queries() == before
        total, by_survey = loop_metrics_by_survey(self.workspace, T0, T0 + timedelta(days=9999))
        assert total.cases == sum(m.cases for m in by_survey.values()) == 8
