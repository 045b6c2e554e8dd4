"""Exports, the printable report and PDF, the metrics API and scheduled report emails."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import time_machine
from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from kaiku.accounts.models import Membership
from kaiku.analyze import analyze
from kaiku.analyze.report import render_json
from kaiku.insights import exports
from kaiku.insights.models import ReportSubscription
from kaiku.insights.reports import report_period, send_due_reports
from kaiku.responses.models import Response
from kaiku.surveys.models import Survey
from tests.base import BaseTestCase
from tests.smtp import SmtpTestMixin, html_part, text_part
from tests.test_api_base import ApiTestCase

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
QUERY = "from=2025-10-01&to=2026-03-31"


def read(response: Any) -> str:
    """A streamed response's body (the test client iterates it synchronously)."""
    return b"".join(response.streaming_content).decode()


def fill(survey: Survey, rows: int, comment: str = "") -> None:
    """Answers spread over six months, with a plan property on most of them."""
    plans = ["pro", "basic", "free", ""]
    Response.objects.bulk_create(
        Response(
            workspace_id=survey.workspace_id,
            survey=survey,
            score=(i * 7) % 11,
            scale_min=0,
            scale_max=10,
            channel=("email", "widget", "kiosk")[i % 3],
            language="fi",
            comment=comment or ("=1+1 formula" if i == 0 else ""),
            properties={"plan": plans[i % 4]} if plans[i % 4] else {},
            # Around the clock, so local-day bucketing matters: 22:00 UTC is the next day.
            created_at=datetime(2025, 10 + (i % 3), 1 + i % 28, (i * 5) % 24, tzinfo=UTC),
        )
        for i in range(rows)
    )


@time_machine.travel(NOW, tick=False)
class ExportTests(BaseTestCase):
    def export(self, query: str = QUERY) -> StreamingHttpResponse:
        self.login_as(self.alice)
        response = self.client.get(
            f"/w/acme/surveys/{self.survey.pk}/dashboard/answers.csv?{query}"
        )
        assert isinstance(response, StreamingHttpResponse)
        return response

    def test_the_csv_has_every_answer_with_its_properties(self) -> None:
        fill(self.survey, 40)
        response = self.export()
        rows = list(csv.DictReader(io.StringIO(read(response))))
        assert len(rows) == 40
        assert {"id", "created_at", "score", "group", "channel", "language", "plan"} <= set(rows[0])
        assert rows[0]["comment"] == "'=1+1 formula"  # no spreadsheet formulas
        assert {"tags", "notes"} <= set(rows[0])  # the team's labels travel with the answers
        assert rows[0]["created_at"].endswith(("+02:00", "+03:00"))  # workspace time zone

    def test_the_csv_honours_the_filters(self) -> None:
        fill(self.survey, 40)
        response = self.export(QUERY + "&channel=kiosk&property=plan:pro")
        rows = list(csv.DictReader(io.StringIO(read(response))))
        assert rows
        assert {r["channel"] for r in rows} == {"kiosk"}
        assert {r["plan"] for r in rows} == {"pro"}

    def test_the_csv_streams_in_chunks_and_memory_stays_flat(self) -> None:
        fill(self.survey, 600, comment="x" * 200)
        chunk_sizes: list[int | None] = []
        real_iterator = QuerySet.iterator

        def spy(qs: QuerySet[Any], chunk_size: int | None = None) -> Iterator[Any]:
            chunk_sizes.append(chunk_size)
            return real_iterator(qs, chunk_size=chunk_size)

        with mock.patch.object(QuerySet, "iterator", spy), mock.patch.object(exports, "CHUNK", 100):
            response = self.export()
            content = response.streaming_content
            assert isinstance(content, Iterator)  # a generator, not rows in memory
            first = next(content)
            assert first.startswith(b"id,created_at,score")
            tracemalloc.start()
            lines = sum(1 for _ in content)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        assert chunk_sizes == [100]
        assert lines == 600
        # 600 rows of > 200 bytes is > 120 kB; a streamed export never holds them all.
        assert peak < 2_000_000

    def test_any_table_is_a_csv_too(self) -> None:
        fill(self.survey, 60)
        self.login_as(self.alice)
        base = f"/w/acme/surveys/{self.survey.pk}/dashboard/table.csv?{QUERY}"
        trend = self.client.get(base + "&table=trend&period=month").content.decode()
        assert trend.splitlines()[0].startswith("period,n,")
        assert "2025-10" in trend
        segment = self.client.get(base + "&table=segment&segment=plan").content.decode()
        assert "vs_rest_q_value" in segment.splitlines()[0]
        halves = (
            f"/w/acme/surveys/{self.survey.pk}/dashboard/table.csv?from=2025-11-16&to=2025-12-31"
        )
        compare = self.client.get(halves + "&table=compare&by=plan").content.decode()
        assert "q_value" in compare.splitlines()[0]

    def test_the_report_prints_as_html_and_pdf(self) -> None:
        fill(self.survey, 60)
        self.login_as(self.alice)
        base = f"/w/acme/surveys/{self.survey.pk}/dashboard/"
        html = self.client.get(base + f"report/?{QUERY}&channel=email").content.decode()
        assert "<svg" in html
        assert "<script" not in html  # WeasyPrint runs no JavaScript: charts are SVG
        assert "email" in html  # the filters are printed
        pdf = self.client.get(base + f"report.pdf?{QUERY}")
        assert pdf["Content-Type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")


@time_machine.travel(NOW, tick=False)
class MetricsApiTests(ApiTestCase):
    def test_the_api_returns_exactly_what_kaiku_analyze_says_for_the_export(self) -> None:
        fill(self.survey, 300)
        self.login_as(self.alice)
        export = self.client.get(f"/w/acme/surveys/{self.survey.pk}/dashboard/answers.csv?{QUERY}")
        path = Path(self.enterContext(_tempdir())) / "answers.csv"
        path.write_text(read(export))
        expected = json.loads(render_json(analyze(path, period="month", by=["plan", "channel"])))
        response = self.api_get(
            f"/surveys/{self.survey.pk}/metrics",
            since="2025-10-01",
            until="2026-03-31",
            period="month",
            by=["plan", "channel"],
        )
        assert response.status_code == 200, response.content
        assert response.json() == expected

    def test_bad_parameters_are_422_with_the_field(self) -> None:
        response = self.api_get(f"/surveys/{self.survey.pk}/metrics", since="last week")
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "since"
        response = self.api_get(f"/surveys/{self.survey.pk}/metrics", period="decade")
        assert response.status_code == 422

    def test_another_workspaces_key_gets_404(self) -> None:
        response = self.api_get(f"/surveys/{self.survey.pk}/metrics", token=self.charlies_token)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


class _tempdir:
    def __enter__(self) -> str:
        import tempfile

        self.dir = tempfile.TemporaryDirectory()
        return self.dir.name

    def __exit__(self, *exc: object) -> None:
        self.dir.cleanup()


class ReportEmailTests(SmtpTestMixin, BaseTestCase):
    subscription: ReportSubscription

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.alice.language = "fi"
        cls.alice.save()
        # The week before Monday 2026-03-30: 23-29 March; and the week before that.
        for day, scores in (
            (date(2026, 3, 17), [10] * 20 + [0] * 5),
            (date(2026, 3, 25), [10] * 8 + [2] * 12),
        ):
            Response.objects.bulk_create(
                Response(
                    workspace=cls.workspace,
                    survey=cls.survey,
                    score=s,
                    scale_min=0,
                    scale_max=10,
                    channel="email",
                    comment="Toimitus myöhässä <b>taas</b>" if s == 2 else "",
                    properties={"plan": "basic" if s == 2 else "pro", "email": "x@example.org"},
                    created_at=datetime(day.year, day.month, day.day, 9, tzinfo=UTC),
                )
                for s in scores
            )
        member = Membership.objects.get(user=cls.alice)
        cls.subscription = ReportSubscription.objects.create(member=member, frequency="weekly")

    def test_the_weekly_report_goes_out_once_in_the_members_language(self) -> None:
        today = date(2026, 3, 30)
        assert report_period("weekly", today).since == date(2026, 3, 23)
        assert send_due_reports(today) == 1
        [message] = self.smtp.wait_for(1)
        assert message["To"] == "alice@example.org"
        assert message["Content-Language"] == "fi"
        assert "23.3.2026" in message["Subject"]  # Finnish date format
        text = text_part(message)
        # 8 promoters, 12 detractors: NPS -20.0; the week before (20/0/5): 60.0.
        assert "-20,0" in text  # Finnish decimal comma
        assert "Toimitus myöhässä" in text  # a recent detractor comment
        assert "x@example.org" not in text  # no contact data in emails
        assert "&lt;b&gt;taas" in html_part(message)
        assert f"/w/acme/surveys/{self.survey.pk}/dashboard/" in text
        # Not due again the same week; due a week later.
        assert send_due_reports(today) == 0
        assert send_due_reports(date(2026, 4, 6)) == 1

    def test_a_failed_send_is_retried_next_time(self) -> None:
        with mock.patch("kaiku.insights.reports.send_email", side_effect=OSError("down")):
            assert send_due_reports(date(2026, 3, 30)) == 0
        self.subscription.refresh_from_db()
        assert self.subscription.last_sent_on is None
        assert send_due_reports(date(2026, 3, 30)) == 1

    def test_members_choose_their_reports(self) -> None:
        self.login_as(self.bob)
        self.client.post("/w/acme/reports/", {"frequency": "monthly", "survey": self.survey.pk})
        bobs = ReportSubscription.objects.get(member__user=self.bob)
        assert (bobs.frequency, bobs.survey_id) == ("monthly", self.survey.pk)
        self.client.post("/w/acme/reports/", {"frequency": "off", "survey": self.survey.pk})
        assert not ReportSubscription.objects.filter(member__user=self.bob).exists()
