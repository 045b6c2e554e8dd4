"""The daily histogram rollup gives exactly the counts the answers give, and stays fresh."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from kaiku.insights.models import DailyHistogram, SurveyRollup
from kaiku.insights.queries.filters import ResponseFilter
from kaiku.insights.queries.grouped import Counts, Grouping, Scope, histogram_set
from kaiku.insights.rollup import refresh_rollups
from kaiku.responses.models import Response
from tests.base import BaseTestCase

NOW = datetime(2026, 3, 31, 10, 0, tzinfo=UTC)
RANGE = ResponseFilter(since=date(2025, 12, 1), until=date(2026, 3, 31))
GROUPINGS = [
    Grouping("day"),
    Grouping("all"),
    Grouping("channel"),
    Grouping("language"),
    Grouping("property", "plan"),
    Grouping("property", "seats"),
    Grouping("property", "@tenure"),
    Grouping("property", "company"),  # identifying: never rolled up, always live
]


def live(scope: Scope, requests: list[tuple[Grouping, ResponseFilter]]) -> list[Counts]:
    """The same requests with the rollup switched off (no SurveyRollup row)."""
    states = list(SurveyRollup.objects.values())
    SurveyRollup.objects.all().delete()
    try:
        return histogram_set(scope, requests)
    finally:
        SurveyRollup.objects.bulk_create(SurveyRollup(**s) for s in states)


class RollupTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        rng = random.Random(7)
        rows = []
        for _ in range(600):
            # Around the clock over four months, so that DST and local midnights matter.
            at = datetime(2025, 11, 20, tzinfo=UTC) + timedelta(minutes=rng.randrange(190_000))
            since = (at - timedelta(days=rng.randrange(10, 1000))).date().isoformat()
            rows.append(
                Response(
                    workspace=cls.workspace,
                    survey=cls.survey,
                    score=rng.randrange(11),
                    scale_min=0,
                    scale_max=10,
                    channel=rng.choice(["email", "widget", "kiosk"]),
                    language=rng.choice(["fi", "et", "en", ""]),
                    properties={
                        "plan": rng.choice(["free", "pro", "basic"]),
                        "seats": rng.choice([1, 5, 10]),
                        "customer_since": since,
                        "company": f"Company {rng.randrange(50)}",
                    },
                    created_at=min(at, NOW - timedelta(minutes=5)),
                )
            )
        Response.objects.bulk_create(rows)
        # As if saved when they were given (auto_now stamped the real clock).
        Response.objects.update(updated_at=NOW - timedelta(hours=1))

    def requests(self, flt: ResponseFilter = RANGE) -> list[tuple[Grouping, ResponseFilter]]:
        return [(g, flt) for g in GROUPINGS]

    def test_rolled_up_counts_equal_the_answers(self) -> None:
        assert refresh_rollups(NOW) > 100
        scope = Scope.of(self.survey)
        for flt in (
            RANGE,
            ResponseFilter(since=date(2026, 3, 1), until=date(2026, 3, 31), groups=("low",)),
            ResponseFilter(since=date(2025, 12, 1), until=date(2026, 3, 31), channels=("kiosk",)),
        ):
            with self.subTest(flt=flt):
                assert histogram_set(scope, self.requests(flt)) == live(scope, self.requests(flt))

    def test_the_statement_reads_the_rollup_up_to_yesterday_and_the_answers_after(self) -> None:
        refresh_rollups(NOW)
        state = SurveyRollup.objects.get(survey=self.survey)
        assert state.rolled_through == date(2026, 3, 30)
        with CaptureQueriesContext(connection) as queries:
            histogram_set(Scope.of(self.survey), [(Grouping("day"), RANGE)])
        [statement] = [q["sql"] for q in queries.captured_queries if "UNION ALL" in q["sql"]]
        assert "insights_dailyhistogram" in statement
        assert "responses_response" in statement  # today, live

    def test_answers_arriving_later_are_counted_at_once(self) -> None:
        refresh_rollups(NOW)
        Response.objects.create(
            workspace=self.workspace, survey=self.survey, score=0, channel="api", created_at=NOW
        )
        scope = Scope.of(self.survey)
        assert histogram_set(scope, self.requests()) == live(scope, self.requests())

    def test_an_edited_old_answer_is_rolled_up_again_on_the_next_refresh(self) -> None:
        refresh_rollups(NOW)
        answer = Response.objects.order_by("created_at").first()
        assert answer is not None
        answer.score = 10 if answer.score != 10 else 0
        answer.properties = {**answer.properties, "plan": "enterprise"}
        answer.save()  # updated_at moves
        refresh_rollups(NOW + timedelta(minutes=5))
        scope = Scope.of(self.survey)
        assert histogram_set(scope, self.requests()) == live(scope, self.requests())

    def test_the_next_day_is_rolled_up_and_a_zone_change_rebuilds_everything(self) -> None:
        refresh_rollups(NOW)
        assert refresh_rollups(NOW + timedelta(days=1)) == 1
        assert SurveyRollup.objects.get().rolled_through == date(2026, 3, 31)
        self.workspace.time_zone = "America/New_York"
        self.workspace.save()
        scope = Scope.of(self.survey)
        scope.workspace.time_zone = "America/New_York"
        # A rollup in another zone is not used until rebuilt …
        assert histogram_set(scope, self.requests()) == live(scope, self.requests())
        assert refresh_rollups(NOW + timedelta(days=1)) > 100  # … which the next run does.
        assert histogram_set(scope, self.requests()) == live(scope, self.requests())

    def test_identifying_and_lifecycle_properties_are_never_rolled_up(self) -> None:
        refresh_rollups(NOW)
        keys: set[Any] = set(DailyHistogram.objects.values_list("key", flat=True).distinct())
        assert keys == {"", "@channel", "@language", "@tenure", "plan", "seats"}


def test_the_jobs_are_registered_with_the_workers() -> None:
    from kaiku.lib.periodic import registered

    names = {job.name for job in registered()}
    assert {"insights.refresh_rollups", "insights.rebuild_rollups"} <= names
    assert "insights.send_due_reports" in names
