"""Importing a Formbricks responses CSV export: the score column, attributes, meta."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from kaiku.contacts.models import Contact
from kaiku.responses.models import Response
from kaiku.transfer.importers import ImportFailed, ImportOptions, Progress, read_header, run_import
from kaiku.transfer.importers.formbricks import FormbricksCsv, guess_score_column
from tests.base import BaseTestCase

FILE = Path(__file__).parent / "data" / "transfer" / "formbricks_responses.csv"
NPS_COLUMN = "1. How likely are you to recommend Acme to a friend or colleague?"
REASON_COLUMN = "2. What is the main reason for your score?"


class FormbricksImportTest(BaseTestCase):
    def run_file(self, mapping: dict[str, str] | None = None, dry_run: bool = False) -> Progress:
        options = ImportOptions(
            format="formbricks", survey_id=self.survey.pk, mapping=mapping or {}, dry_run=dry_run
        )
        return run_import(self.workspace, FILE, options)

    def test_the_recommend_question_is_the_score_and_the_next_one_the_comment(self) -> None:
        headers, _delimiter = read_header(FILE)
        assert guess_score_column(headers) == NPS_COLUMN
        mapping = FormbricksCsv().default_mapping(headers)
        assert mapping[NPS_COLUMN] == "score"
        assert mapping[REASON_COLUMN] == "comment"
        assert mapping["3. Which plan are you on?"] == "ignore"
        assert mapping["userAgent - browser"] == "ignore"
        assert mapping["url"] == "ignore"

    def test_it_imports_answers_with_contacts_and_segments(self) -> None:
        outcome = self.run_file()
        assert (outcome.rows, outcome.created, outcome.rejected) == (5, 3, 2)
        anna = Response.objects.get(idempotency_key="import:formbricks:clx1a2b3c0001")
        assert anna.score == 9
        assert anna.comment == "Easy to use, good support"
        assert anna.created_at == datetime(2025, 3, 1, 8, 15, tzinfo=UTC)  # exports are in UTC
        assert anna.properties == {
            "source": "link",
            "country": "FI",
            "hiddenSource": "newsletter",
            "plan": "pro",
        }
        contact = anna.contact
        assert contact is not None
        assert (contact.external_id, contact.email, contact.name) == (
            "user-1001",
            "anna.virtanen@example.fi",
            "Anna Virtanen",
        )

    def test_an_unfinished_answer_with_a_score_counts_and_one_without_is_reported(self) -> None:
        outcome = self.run_file()
        partial = Response.objects.get(idempotency_key="import:formbricks:clx1a2b3c0004")
        assert partial.score == 7
        assert partial.contact is None
        reasons = {(e["row"], e["code"]) for e in outcome.report.rows}
        assert reasons == {(4, "missing_score"), (6, "out_of_scale")}

    def test_the_person_importing_can_choose_another_score_column(self) -> None:
        outcome = self.run_file({REASON_COLUMN: "ignore", "No.": "score"}, dry_run=True)
        # "No." holds 1..5: all valid scores, so five answers would be imported.
        assert outcome.created == 5
        assert outcome.rejected == 0

    def test_without_a_recognisable_score_question_it_asks_for_the_column(self) -> None:
        headers = ["Response ID", "Timestamp", "1. Rate us"]
        assert guess_score_column(headers) is None
        path = Path(self.id().replace(".", "_") + ".csv")
        try:
            path.write_text(",".join(headers) + "\nr1,2025-01-01 10:00:00,5\n", encoding="utf-8")
            with self.assertRaises(ImportFailed) as caught:
                run_import(
                    self.workspace,
                    path,
                    ImportOptions(format="formbricks", survey_id=self.survey.pk),
                )
            assert "Score" in caught.exception.message
            outcome = run_import(
                self.workspace,
                path,
                ImportOptions(
                    format="formbricks", survey_id=self.survey.pk, mapping={"1. Rate us": "score"}
                ),
            )
            assert outcome.created == 1
        finally:
            path.unlink()

    def test_running_it_twice_imports_nothing_new(self) -> None:
        self.run_file()
        again = self.run_file()
        assert (again.created, again.duplicates, again.contacts_created) == (0, 3, 0)
        assert Contact.objects.filter(workspace=self.workspace).count() == 2
