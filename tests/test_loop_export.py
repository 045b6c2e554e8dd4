"""Cases as CSV and JSON on the export page (kaiku.loop.exports), and export filter checks."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any, cast

from django.http import StreamingHttpResponse

from kaiku.loop.actions import add_note
from kaiku.loop.models import Case
from kaiku.surveys.models import Survey
from tests.test_loop_base import LoopTestCase


def body(response: Any) -> str:
    assert isinstance(response, StreamingHttpResponse), response
    return b"".join(cast(Iterable[bytes], response.streaming_content)).decode("utf-8")


class CaseExportTests(LoopTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.case = self.case_for(self.answer(2, "Slow delivery", contact=self.ann))
        add_note(self.case, "Called Ann, refund agreed.", actor=self.alice)
        # Charlie's workspace has a case of its own that must never appear.
        globex = Survey.objects.create(workspace=self.charlies_workspace, name="Globex NPS")
        self.answer(1, "Globex secret", survey=globex)
        assert Case.objects.count() == 2
        self.login_as(self.alice)

    def test_cases_as_csv(self) -> None:
        text = body(self.client.get("/w/acme/export/cases.csv"))
        rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
        assert len(rows) == 1
        row = rows[0]
        assert row["id"] == str(self.case.pk)
        assert row["survey"] == "Relationship NPS"
        assert (row["score"], row["reason"], row["status"]) == ("2", "detractor", "open")
        assert row["comment"] == "Slow delivery"
        assert row["email"] == "ann@example.com"
        assert row["notes"] == "1"
        assert row["created_at"].endswith("Z")
        assert "Globex" not in text

    def test_cases_as_json_with_filters(self) -> None:
        rows = json.loads(body(self.client.get("/w/acme/export/cases.json?status=open")))
        assert [r["id"] for r in rows] == [self.case.pk]
        assert rows[0]["response_id"] == self.case.response_id
        resolved = json.loads(body(self.client.get("/w/acme/export/cases.json?status=resolved")))
        assert resolved == []
        other = json.loads(body(self.client.get("/w/acme/export/cases.json?survey=999999")))
        assert other == []

    def test_the_page_offers_cases(self) -> None:
        self.assertContains(self.client.get("/w/acme/export/"), "/w/acme/export/cases.csv")

    def test_bad_filters_are_a_clear_400_before_any_download(self) -> None:
        for url in (
            "/w/acme/export/cases.csv?since=yesterday",
            "/w/acme/export/responses.csv?until=2025-13-01",
            "/w/acme/export/responses.json?survey=abc",
        ):
            with self.subTest(url=url):
                response = self.client.get(url)
                assert response.status_code == 400
                assert not isinstance(response, StreamingHttpResponse)
                assert b"must be" in response.content

    def test_agents_and_outsiders_are_refused(self) -> None:
        self.client.force_login(self.bob)
        assert self.client.get("/w/acme/export/cases.csv").status_code == 403
        self.assertRefusedToOutsider("/w/acme/export/cases.csv")
        self.assertRefusedToOutsider("/w/acme/export/cases.json")
