"""Importing Delighted's CSV export and API JSON: rows, report, idempotency, dry run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from kaiku.contacts.models import Contact
from kaiku.responses.models import Channel, Response
from kaiku.transfer.importers import ImportOptions, Progress, run_import
from tests.base import BaseTestCase

DATA = Path(__file__).parent / "data" / "transfer"


class DelightedCsvTest(BaseTestCase):
    def run_csv(self, dry_run: bool = False) -> Progress:
        return run_import(
            self.workspace,
            DATA / "delighted_responses.csv",
            ImportOptions(format="delighted-csv", survey_id=self.survey.pk, dry_run=dry_run),
        )

    def test_it_imports_the_valid_rows(self) -> None:
        outcome = self.run_csv()
        assert outcome.rows == 9
        assert outcome.created == 5
        answer = Response.objects.get(idempotency_key="import:delighted:9002")
        assert answer.score == 6
        assert answer.comment == "Too expensive for what you get"
        assert answer.channel == Channel.IMPORT
        assert answer.created_at == datetime(2025, 1, 16, 22, 3, 27, tzinfo=UTC)
        assert answer.properties == {"plan": "free", "country": "EE", "Delighted Source": "Email"}
        assert answer.contact is not None
        assert answer.contact.email == "jaan.tamm@example.ee"
        assert answer.contact.name == "Jaan Tamm"
        assert answer.source_ref == "delighted:9002"

    def test_it_reports_rejected_rows_with_row_numbers_and_reasons(self) -> None:
        outcome = self.run_csv()
        reasons = {(e["row"], e["field"], e["code"]) for e in outcome.report.rows}
        assert reasons == {
            (5, "score", "out_of_scale"),
            (6, "created_at", "invalid_date"),
            (7, "score", "invalid_score"),
            (9, "email", "invalid_email"),
        }
        by_row = {e["row"]: e["reason"] for e in outcome.report.rows}
        assert "outside the survey's scale 0–10" in by_row[5]
        assert "not a date" in by_row[6]
        assert outcome.counts()["rejected_by_reason"] == {
            "out_of_scale": 1,
            "invalid_date": 1,
            "invalid_score": 1,
            "invalid_email": 1,
        }

    def test_one_person_answering_twice_is_one_contact(self) -> None:
        self.run_csv()
        anna = Contact.objects.get(workspace=self.workspace, email="anna.virtanen@example.fi")
        assert anna.responses.count() == 2
        assert anna.properties == {"plan": "pro", "country": "FI", "Delighted Source": "Email"}

    def test_a_row_without_a_person_is_an_anonymous_answer(self) -> None:
        self.run_csv()
        answer = Response.objects.get(idempotency_key="import:delighted:9009")
        assert answer.contact is None
        assert answer.score == 0

    def test_page_urls_notes_and_tags_are_not_imported(self) -> None:
        self.run_csv()
        answer = Response.objects.get(idempotency_key="import:delighted:9003")
        assert "Delighted Page URL" not in answer.properties
        assert "Notes" not in answer.properties
        assert "Tags" not in answer.properties

    def test_running_the_file_again_creates_nothing(self) -> None:
        self.run_csv()
        again = self.run_csv()
        assert again.created == 0
        assert again.duplicates == 5
        assert again.contacts_created == 0
        assert Response.objects.filter(survey=self.survey).count() == 5
        assert Contact.objects.filter(workspace=self.workspace).count() == 3

    def test_a_dry_run_writes_nothing_and_says_what_would_happen(self) -> None:
        outcome = self.run_csv(dry_run=True)
        assert outcome.created == 5
        assert outcome.contacts_created == 3
        assert outcome.rejected == 4
        assert not Response.objects.exists()
        assert not Contact.objects.exists()

    def test_existing_contacts_are_filled_in_not_overwritten(self) -> None:
        Contact.objects.create(
            workspace=self.workspace,
            email="jaan.tamm@example.ee",
            name="",
            properties={"plan": "pro"},
        )
        self.run_csv()
        jaan = Contact.objects.get(workspace=self.workspace, email="jaan.tamm@example.ee")
        assert jaan.name == "Jaan Tamm"
        assert jaan.properties["plan"] == "pro"  # the stored value stays
        assert jaan.properties["country"] == "EE"  # a missing one is added

    def test_answers_go_to_another_workspace_never(self) -> None:
        self.run_csv()
        assert not Response.objects.filter(workspace=self.charlies_workspace).exists()
        assert not Contact.objects.filter(workspace=self.charlies_workspace).exists()


class DelightedJsonTest(BaseTestCase):
    def run_json(self) -> Progress:
        return run_import(
            self.workspace,
            DATA / "delighted_responses.json",
            ImportOptions(format="delighted-json", survey_id=self.survey.pk),
        )

    def test_it_imports_survey_responses_with_people_expanded(self) -> None:
        outcome = self.run_json()
        assert (outcome.rows, outcome.created, outcome.rejected) == (5, 3, 2)
        sara = Response.objects.get(idempotency_key="import:delighted:9101")
        assert sara.contact is not None
        assert sara.contact.phone == "+46701234567"
        assert sara.created_at == datetime.fromtimestamp(1737100000, tz=UTC)
        assert sara.properties == {"plan": "business", "country": "SE"}

    def test_a_customer_id_property_becomes_the_external_id(self) -> None:
        self.run_json()
        anna = Response.objects.get(idempotency_key="import:delighted:9001").contact
        assert anna is not None
        assert anna.external_id == "C-1001"
        assert (
            "customer_id"
            not in Response.objects.get(idempotency_key="import:delighted:9001").properties
        )

    def test_it_refuses_other_survey_types_and_future_dates(self) -> None:
        outcome = self.run_json()
        codes = {(e["row"], e["code"]) for e in outcome.report.rows}
        assert codes == {(4, "survey_type"), (5, "future_date")}

    def test_json_after_csv_creates_no_duplicates(self) -> None:
        run_import(
            self.workspace,
            DATA / "delighted_responses.csv",
            ImportOptions(format="delighted-csv", survey_id=self.survey.pk),
        )
        outcome = self.run_json()
        assert outcome.duplicates == 1  # 9001 is in both exports
        assert outcome.created == 2

    def test_json_lines_are_read_too(self) -> None:
        import json
        import tempfile

        items = json.loads((DATA / "delighted_responses.json").read_text())
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "responses.jsonl"
            path.write_text("\n".join(json.dumps(item) for item in items) + "\nnot json\n")
            outcome = run_import(
                self.workspace,
                path,
                ImportOptions(format="delighted-json", survey_id=self.survey.pk),
            )
        assert outcome.created == 3
        assert {e["code"] for e in outcome.report.rows} == {
            "survey_type",
            "future_date",
            "unreadable",
        }


class DelightedPeopleTest(BaseTestCase):
    def test_people_objects_feed_a_contacts_only_import(self) -> None:
        import json
        import tempfile

        people = {
            "people": [
                {"id": "1", "email": "Anna@Example.fi", "name": "Anna", "phone_number": None,
                 "properties": {"plan": "pro", "customer_id": "C-1"}},
                {"id": "2", "email": None, "name": "No Email", "phone_number": "+358401"},
            ]
        }  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "people.json"
            path.write_text(json.dumps(people))
            outcome = run_import(self.workspace, path, ImportOptions(format="delighted-json"))
        assert (outcome.contacts_created, outcome.rejected) == (1, 1)
        assert outcome.report.rows[0]["code"] == "missing_contact"
        anna = Contact.objects.get(workspace=self.workspace)
        assert (anna.email, anna.external_id, anna.properties) == (
            "anna@example.fi",
            "C-1",
            {"plan": "pro"},
        )
