"""The analytics query layer against hand computation, on SQLite and PostgreSQL alike.

The whole suite runs on both engines in CI; the tests marked postgres run there only and say
so explicitly, so that a parity break is named in the report.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import SimpleTestCase

from kaiku.insights.queries.buckets import calendar_buckets, rolling_buckets
from kaiku.insights.queries.expressions import offset_segments
from kaiku.insights.queries.filters import FilterError, ResponseFilter
from kaiku.insights.queries.grouped import Grouping, Scope, histogram_set, histograms
from kaiku.responses.models import Response
from kaiku.surveys.models import Survey
from tests.base import BaseTestCase

HELSINKI = ZoneInfo("Europe/Helsinki")
WHOLE = ResponseFilter(since=date(2024, 1, 1), until=date(2027, 12, 31))


def statements(queries: int = 1) -> int:
    """Statements for `queries` histogram queries: each reads the rollup state, then sends its
    one UNION ALL; PostgreSQL adds SET LOCAL jit = off, in a savepoint inside a test's
    transaction (savepoint, SET, query, release)."""
    return queries * (2 if connection.vendor != "postgresql" else 5)


def add(survey: Survey, at: datetime, score: int, **fields: Any) -> Response:
    return Response.objects.create(
        workspace_id=survey.workspace_id,
        survey=survey,
        score=score,
        channel=fields.pop("channel", "email"),
        created_at=at,
        **fields,
    )


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def sizes(counts: dict[Any, list[int]]) -> dict[Any, int]:
    return {key: sum(hist) for key, hist in counts.items()}


class LocalDayTests(BaseTestCase):
    """Days, weeks, months and quarters in the workspace's zone (Europe/Helsinki)."""

    def days(self, flt: ResponseFilter = WHOLE) -> dict[Any, int]:
        return sizes(histograms(Scope.of(self.survey), flt, [Grouping("day")])[Grouping("day")])

    def test_answers_are_dated_by_helsinki_midnight_not_utc(self) -> None:
        add(self.survey, utc(2025, 1, 14, 21, 59), 10)  # 23:59 in Helsinki (UTC+2)
        add(self.survey, utc(2025, 1, 14, 22, 0), 10)  # 00:00 on the 15th
        assert self.days() == {"2025-01-14": 1, "2025-01-15": 1}

    def test_the_spring_dst_change_moves_midnight_by_an_hour(self) -> None:
        # Clocks go forward on Sunday 2025-03-30 at 01:00 UTC: UTC+2 before, UTC+3 after.
        add(self.survey, utc(2025, 3, 29, 21, 59), 9)  # Sat 23:59 (+2)
        add(self.survey, utc(2025, 3, 29, 22, 0), 9)  # Sun 00:00 (+2)
        add(self.survey, utc(2025, 3, 30, 20, 59), 9)  # Sun 23:59 (+3)
        add(self.survey, utc(2025, 3, 30, 21, 0), 9)  # Mon 00:00 (+3)
        assert self.days() == {"2025-03-29": 1, "2025-03-30": 2, "2025-03-31": 1}
        weeks = calendar_buckets(self.day_histograms(), "week")
        assert [(b.label, sum(b.histogram)) for b in weeks] == [("2025-W13", 3), ("2025-W14", 1)]

    def test_the_autumn_dst_change_moves_it_back(self) -> None:
        # Clocks go back on Sunday 2025-10-26 at 01:00 UTC: UTC+3 before, UTC+2 after.
        add(self.survey, utc(2025, 10, 25, 20, 59), 5)  # Sat 23:59 (+3)
        add(self.survey, utc(2025, 10, 25, 21, 0), 5)  # Sun 00:00 (+3)
        add(self.survey, utc(2025, 10, 26, 21, 59), 5)  # Sun 23:59 (+2)
        add(self.survey, utc(2025, 10, 26, 22, 0), 5)  # Mon 00:00 (+2)
        assert self.days() == {"2025-10-25": 1, "2025-10-26": 2, "2025-10-27": 1}

    def test_iso_weeks_months_and_quarters_across_the_year_end(self) -> None:
        add(self.survey, utc(2025, 12, 28, 21, 30), 10)  # Sun 2025-12-28 23:30: 2025-W52
        add(self.survey, utc(2025, 12, 28, 22, 30), 10)  # Mon 2025-12-29 00:30: 2026-W01
        add(self.survey, utc(2026, 12, 31, 22, 30), 0)  # Fri 2027-01-01 00:30: 2026-W53
        add(self.survey, utc(2027, 1, 3, 23, 0), 0)  # Mon 2027-01-04 01:00: 2027-W01
        days = self.day_histograms()
        labels = {
            period: [(b.label, sum(b.histogram)) for b in calendar_buckets(days, period)]
            for period in ("week", "month", "quarter")
        }
        assert labels["week"] == [
            ("2025-W52", 1),
            ("2026-W01", 1),
            ("2026-W53", 1),
            ("2027-W01", 1),
        ]
        assert labels["month"] == [("2025-12", 2), ("2027-01", 2)]
        assert labels["quarter"] == [("2025-Q4", 2), ("2027-Q1", 2)]

    def test_the_filter_range_is_whole_local_days(self) -> None:
        add(self.survey, utc(2025, 5, 31, 20, 59), 1)  # 23:59 on the 31st (+3): out
        add(self.survey, utc(2025, 5, 31, 21, 0), 2)  # 00:00 on June 1st: in
        add(self.survey, utc(2025, 6, 30, 20, 59), 3)  # 23:59 on June 30th: in
        add(self.survey, utc(2025, 6, 30, 21, 0), 4)  # July 1st: out
        june = ResponseFilter(since=date(2025, 6, 1), until=date(2025, 6, 30))
        assert self.days(june) == {"2025-06-01": 1, "2025-06-30": 1}

    def day_histograms(self) -> dict[date, list[int]]:
        counts = histograms(Scope.of(self.survey), WHOLE, [Grouping("day")])[Grouping("day")]
        return {date.fromisoformat(str(k)): v for k, v in counts.items()}


class OffsetSegmentTests(SimpleTestCase):
    def test_it_finds_each_dst_change_to_the_second(self) -> None:
        segments = offset_segments(HELSINKI, utc(2025, 1, 1), utc(2026, 1, 1))
        assert segments == [
            (utc(2025, 1, 1), 120),
            (utc(2025, 3, 30, 1, 0), 180),
            (utc(2025, 10, 26, 1, 0), 120),
        ]

    def test_a_zone_without_dst_has_one_segment(self) -> None:
        assert offset_segments(ZoneInfo("Asia/Kolkata"), utc(2025, 1, 1), utc(2026, 1, 1)) == [
            (utc(2025, 1, 1), 330)
        ]


class GroupingTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        at = utc(2025, 6, 10, 12)
        rows: Iterable[tuple[int, str, str, dict[str, Any]]] = [
            (10, "email", "fi", {"plan": "pro", "seats": 5, "customer_since": "2025-05-01"}),
            (9, "email", "en", {"plan": "pro", "seats": 5, "customer_since": "2024-12-01"}),
            (3, "widget", "fi", {"plan": "basic", "seats": 12, "customer_since": "2023-01-15"}),
            (7, "kiosk", "et", {"plan": "basic", "customer_since": "not a date"}),
            (0, "widget", "fi", {}),
        ]
        for score, channel, language, properties in rows:
            add(cls.survey, at, score, channel=channel, language=language, properties=properties)
        other = Survey.objects.create(workspace=cls.charlies_workspace, name="Globex")
        add(other, at, 0, properties={"plan": "pro"})

    def group(self, *groupings: Grouping, flt: ResponseFilter = WHOLE) -> list[dict[Any, int]]:
        found = histograms(Scope.of(self.survey), flt, groupings)
        return [sizes(found[g]) for g in groupings]

    def test_one_query_answers_every_grouping(self) -> None:
        groupings = [Grouping("day"), Grouping("channel"), Grouping("language")]
        groupings += [Grouping("property", "plan"), Grouping("property", "@tenure")]
        with self.assertNumQueries(statements(1)):
            histograms(Scope.of(self.survey), WHOLE, groupings)

    def test_histograms_count_each_score(self) -> None:
        [by_plan] = self.group(Grouping("property", "plan"))
        assert by_plan == {"pro": 2, "basic": 2, None: 1}
        pro = histograms(Scope.of(self.survey), WHOLE, [Grouping("property", "plan")])
        assert pro[Grouping("property", "plan")]["pro"] == [0] * 9 + [1, 1]

    def test_numbers_in_json_are_text_keys(self) -> None:
        [by_seats] = self.group(Grouping("property", "seats"))
        assert by_seats == {"5": 2, "12": 1, None: 2}

    def test_channel_and_language(self) -> None:
        channel, language = self.group(Grouping("channel"), Grouping("language"))
        assert channel == {"email": 2, "widget": 2, "kiosk": 1}
        assert language == {"fi": 3, "en": 1, "et": 1}

    def test_tenure_at_answer_time_from_customer_since(self) -> None:
        # Answers on 2025-06-10: 40 days, 191 days and 877 days after customer_since.
        [tenure] = self.group(Grouping("property", "@tenure"))
        assert tenure == {"new": 1, "3-12m": 1, "2y+": 1, None: 2}

    def test_filters_narrow_every_grouping(self) -> None:
        flt = ResponseFilter(
            since=WHOLE.since, until=WHOLE.until, channels=("widget", "email"), groups=("high",)
        )
        [by_plan] = self.group(Grouping("property", "plan"), flt=flt)
        assert by_plan == {"pro": 2}
        by_property = ResponseFilter(
            since=WHOLE.since, until=WHOLE.until, properties=(("seats", "12"),)
        )
        assert self.group(Grouping("channel"), flt=by_property) == [{"widget": 1}]
        by_tenure = ResponseFilter(
            since=WHOLE.since, until=WHOLE.until, properties=(("@tenure", "new"),)
        )
        assert self.group(Grouping("language"), flt=by_tenure) == [{"fi": 1}]

    def test_each_request_has_its_own_filter(self) -> None:
        fi = ResponseFilter(since=WHOLE.since, until=WHOLE.until, languages=("fi",))
        everyone, finns = histogram_set(
            Scope.of(self.survey), [(Grouping("all"), WHOLE), (Grouping("all"), fi)]
        )
        assert sizes(everyone) == {"": 5}
        assert sizes(finns) == {"": 3}

    def test_another_workspaces_survey_is_refused(self) -> None:
        other = Survey.objects.get(workspace=self.charlies_workspace)
        with pytest.raises(ValueError, match="another workspace"):
            Scope(self.workspace, (other,))

    def test_the_workspace_scope_never_counts_another_workspace(self) -> None:
        found = histograms(Scope(self.workspace, ()), WHOLE, [Grouping("survey")])
        assert sizes(found[Grouping("survey")]) == {str(self.survey.pk): 5}

    @pytest.mark.postgres
    def test_postgresql_agrees_with_the_hand_counts(self) -> None:
        """The same expectations as above, asserted on PostgreSQL by name."""
        assert connection.vendor == "postgresql"
        self.test_histograms_count_each_score()
        self.test_numbers_in_json_are_text_keys()
        self.test_tenure_at_answer_time_from_customer_since()
        self.test_filters_narrow_every_grouping()


class FilterTests(SimpleTestCase):
    def query(self, **params: Any) -> ResponseFilter:
        from django.http import QueryDict

        q = QueryDict(mutable=True)
        for key, value in params.items():
            q.setlist(key, value if isinstance(value, list) else [value])
        return ResponseFilter.from_query(q, date(2026, 3, 31))

    def test_it_round_trips_through_the_query_string(self) -> None:
        flt = self.query(
            **{"from": "2026-01-01", "to": "2026-03-31", "channel": ["email", "kiosk"]},
            group="low",
            property=["plan:pro", "@tenure:new"],
        )
        from django.http import QueryDict

        again = ResponseFilter.from_query(QueryDict(flt.to_query()), date(2026, 3, 31))
        assert again == flt
        assert ResponseFilter.from_dict(flt.to_dict()) == flt

    def test_defaults_are_the_last_365_days(self) -> None:
        flt = self.query()
        assert (flt.since, flt.until) == (date(2025, 4, 1), date(2026, 3, 31))
        assert flt.previous().until == date(2025, 3, 31)
        assert flt.previous().days == flt.days

    def test_bad_values_name_their_parameter(self) -> None:
        for params, name in [
            ({"from": "yesterday"}, "from"),
            ({"from": "2026-02-01", "to": "2026-01-01"}, "to"),
            ({"channel": "pigeon"}, "channel"),
            ({"group": "angry"}, "group"),
            ({"property": "no-colon"}, "property"),
            ({"language": "<script>"}, "language"),
        ]:
            with self.subTest(params=params), pytest.raises(FilterError) as caught:
                self.query(**params)
            assert caught.value.field == name


class RollingTests(SimpleTestCase):
    def test_rolling_windows_pool_the_days_they_cover(self) -> None:
        days = {date(2026, 3, d): [0] * 10 + [1] for d in range(1, 32)}
        points = rolling_buckets(days, date(2026, 3, 1), date(2026, 3, 31), 30)
        assert [p.label for p in points] == [
            "2026-03-03",
            "2026-03-10",
            "2026-03-17",
            "2026-03-24",
            "2026-03-31",
        ]
        assert sum(points[-1].histogram) == 30  # 2 March to 31 March
        assert sum(points[0].histogram) == 3  # only 1-3 March have answers
