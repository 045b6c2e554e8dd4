"""Streaming CSV and JSON exports of answers and contacts."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from types import GeneratorType
from typing import Any, cast

from django.http import StreamingHttpResponse

from kaiku.contacts.models import Contact
from kaiku.responses.models import Channel, Response
from kaiku.surveys.models import Survey
from kaiku.transfer import exporters
from kaiku.transfer.fastinsert import insert_rows
from kaiku.transfer.models import AuditAction, AuditLog
from tests.base import BaseTestCase

WHEN = datetime(2025, 6, 1, 9, 30, tzinfo=UTC)


def body(response: Any) -> str:
    assert isinstance(response, StreamingHttpResponse)
    chunks = cast(Iterable[bytes], response.streaming_content)
    return b"".join(chunks).decode("utf-8")


class ExportTest(BaseTestCase):
    anna: Contact

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.anna = Contact.objects.create(
            workspace=cls.workspace,
            email="anna@example.fi",
            name="Anna",
            properties={"plan": "pro"},
        )
        common = {"workspace": cls.workspace, "survey": cls.survey, "channel": Channel.EMAIL}
        Response.objects.create(
            **common, contact=cls.anna, score=9, comment='Great, "really"', created_at=WHEN,
            properties={"plan": "pro", "country": "FI"},
        )  # fmt: skip
        Response.objects.create(
            **common, score=3, comment='=HYPERLINK("http://evil")',
            created_at=WHEN + timedelta(days=1), properties={"plan": "free"},
        )  # fmt: skip
        other = Survey.objects.create(workspace=cls.workspace, name="Support CSAT", kind="csat")
        Response.objects.create(
            workspace=cls.workspace, survey=other, channel=Channel.API, score=4, created_at=WHEN
        )
        globex = Survey.objects.create(workspace=cls.charlies_workspace, name="Globex")
        Response.objects.create(
            workspace=cls.charlies_workspace, survey=globex, channel=Channel.API, score=1,
            comment="Globex secret",
        )  # fmt: skip

    def setUp(self) -> None:
        self.login_as(self.alice)

    def test_answers_as_csv_with_property_columns(self) -> None:
        response = self.client.get("/w/acme/export/responses.csv")
        assert isinstance(response, StreamingHttpResponse)
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert 'filename="acme-responses-' in response["Content-Disposition"]
        rows = list(csv.DictReader(io.StringIO(body(response).lstrip("\ufeff"))))
        assert len(rows) == 3
        first = rows[0]
        assert (first["score"], first["email"], first["created_at"]) == (
            "9",
            "anna@example.fi",
            "2025-06-01T09:30:00Z",
        )
        assert (first["plan"], first["country"]) == ("pro", "FI")
        assert json.loads(first["properties"]) == {"country": "FI", "plan": "pro"}
        assert first["comment"] == 'Great, "really"'
        # A comment that a spreadsheet would run as a formula is defused.
        formula = next(row for row in rows if row["score"] == "3")
        assert formula["comment"].startswith("'=HYPERLINK")

    def test_answers_as_json_with_filters(self) -> None:
        response = self.client.get(
            "/w/acme/export/responses.json", {"survey": str(self.survey.pk), "since": "2025-06-02"}
        )
        data = json.loads(body(response))
        assert [(a["score"], a["properties"]) for a in data] == [(3, {"plan": "free"})]
        assert data[0]["created_at"] == "2025-06-02T09:30:00Z"
        assert "Globex" not in json.dumps(data)

    def test_contacts_as_csv_and_json(self) -> None:
        text = body(self.client.get("/w/acme/export/contacts.csv"))
        assert "anna@example.fi" in text
        data = json.loads(body(self.client.get("/w/acme/export/contacts.json")))
        assert [c["email"] for c in data] == ["anna@example.fi"]
        assert data[0]["properties"] == {"plan": "pro"}

    def test_a_download_is_audited(self) -> None:
        self.client.get("/w/acme/export/contacts.csv")
        entry = AuditLog.objects.get(action=AuditAction.EXPORT_DOWNLOADED)
        assert (entry.user, entry.details) == (self.alice, {"export": "contacts", "format": "csv"})

    def test_many_answers_stream_from_a_generator_in_chunks(self) -> None:
        rows = [
            {"workspace_id": self.workspace.pk, "survey_id": self.survey.pk, "score": i % 11,
             "scale_min": 0, "scale_max": 10, "channel": "import", "created_at": WHEN}
            for i in range(5000)
        ]  # fmt: skip
        insert_rows(Response, rows)
        spec = exporters.EXPORTS["responses"]
        stream = exporters.stream_json(spec, self.workspace, {})
        assert isinstance(stream, GeneratorType)
        assert next(stream) == "["  # the first bytes leave before the rows are read
        with self.assertNumQueries(1):
            lines = list(stream)  # one cursor, read in chunks (iterator(chunk_size=…))
        assert len(json.loads("[" + "".join(lines))) == 5003
        csv_lines = list(exporters.stream_csv(spec, self.workspace, {}))
        assert len(csv_lines) == 5004  # header + rows, one chunk per row

    def test_unknown_exports_are_404_and_roles_are_checked(self) -> None:
        assert self.client.get("/w/acme/export/nothing.csv").status_code == 404
        assert self.client.get("/w/acme/export/responses.xml").status_code == 404
        self.client.force_login(self.bob)
        assert self.client.get("/w/acme/export/").status_code == 403
        assert self.client.get("/w/acme/export/responses.csv").status_code == 403
        for url in (
            "/w/acme/export/",
            "/w/acme/export/responses.csv",
            "/w/acme/export/workspace.json",
        ):
            self.assertRefusedToOutsider(url)

    def test_the_export_page_links_every_registered_export(self) -> None:
        page = self.client.get("/w/acme/export/")
        for spec in exporters.EXPORTS.values():
            self.assertContains(page, f"/w/acme/export/{spec.name}.csv")
        self.assertContains(page, "/w/acme/export/workspace.json")
