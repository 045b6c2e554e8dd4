"""Any CSV file: guessed and chosen columns, checks, keys without ids, batches, contacts only."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

from django.db import DatabaseError

from kaiku.contacts.models import Contact
from kaiku.responses.models import Response
from kaiku.transfer.gdpr import erase_contact
from kaiku.transfer.importers import ImportFailed, ImportOptions, Progress, read_header, run_import
from kaiku.transfer.importers import writer as writer_module
from kaiku.transfer.importers.mapping import (
    MappingError,
    check_mapping,
    parse_map_options,
    suggest_mapping,
)
from tests.base import BaseTestCase

DATA = Path(__file__).parent / "data" / "transfer"
FINNISH = DATA / "generic_semicolon.csv"
HELSINKI = ZoneInfo("Europe/Helsinki")


class TempFiles:
    def __init__(self) -> None:
        self.dir = tempfile.TemporaryDirectory()

    def write(self, name: str, text: str) -> Path:
        path = Path(self.dir.name) / name
        path.write_text(text, encoding="utf-8")
        return path


class MappingTest(BaseTestCase):
    def test_finnish_headers_are_guessed(self) -> None:
        headers, delimiter = read_header(FINNISH)
        assert delimiter == ";"
        assert suggest_mapping(headers) == {
            "vastaus": "property:vastaus",
            "päivämäärä": "created_at",
            "arvosana": "score",
            "palaute": "comment",
            "sähköposti": "email",
            "asiakasnumero": "external_id",
            "segmentti": "property:segmentti",
            "maa": "property:maa",
        }

    def test_map_options_parse_and_bad_ones_are_refused(self) -> None:
        assert parse_map_options(["Rating=score", "a=b=property:a=b"]) == {
            "Rating": "score",
            "a=b": "property:a=b",
        }
        with self.assertRaises(MappingError):
            parse_map_options(["no-equals-sign"])

    def test_a_mapping_needs_a_score_and_a_date_and_no_field_twice(self) -> None:
        with self.assertRaises(MappingError) as caught:
            check_mapping(["a", "b"], {"a": "score", "b": "score"})
        messages = " ".join(m for _c, m in caught.exception.problems)
        assert "already mapped" in messages
        assert "Answer date" in messages
        with self.assertRaises(MappingError):
            check_mapping(["a"], {"a": "favourite colour"})
        check_mapping(["e"], {"e": "email"}, contacts_only=True)


class GenericCsvTest(BaseTestCase):
    def setUp(self) -> None:
        self.files = TempFiles()

    def tearDown(self) -> None:
        self.files.dir.cleanup()

    def run_csv(self, path: Path, **options: object) -> Progress:
        values: dict = {"format": "csv", "survey_id": self.survey.pk, **options}
        return run_import(self.workspace, path, ImportOptions(**values))

    def test_it_imports_a_finnish_semicolon_file_with_a_chosen_id_column(self) -> None:
        outcome = self.run_csv(FINNISH, mapping={"vastaus": "response_id"})
        assert (outcome.created, outcome.rejected) == (3, 2)
        first = Response.objects.get(idempotency_key=f"import:csv:s{self.survey.pk}:A-1")
        assert first.created_at == datetime(2025, 4, 1, 10, tzinfo=HELSINKI)
        assert first.properties == {"segmentti": "kuluttaja", "maa": "FI"}
        assert first.contact is not None
        assert first.contact.external_id == "K-100"
        naive = Response.objects.get(idempotency_key=f"import:csv:s{self.survey.pk}:A-2")
        # No offset in the file: the workspace's time zone (Helsinki) applies.
        assert naive.created_at == datetime(2025, 4, 2, 11, tzinfo=HELSINKI)
        assert {(e["row"], e["code"]) for e in outcome.report.rows} == {
            (5, "invalid_date"),  # 02/04/2025: February or April? Refused, not guessed
            (6, "out_of_scale"),
        }

    def test_a_date_format_reads_slashed_dates(self) -> None:
        outcome = self.run_csv(
            FINNISH, mapping={"vastaus": "response_id"}, date_format="%d/%m/%Y", dry_run=True
        )
        # Now only the slashed date parses; the ISO ones do not match the format.
        assert outcome.created == 1

    def test_rows_without_an_id_get_keys_from_their_content(self) -> None:
        path = self.files.write(
            "no-ids.csv",
            "score,created_at,email,plan\n9,2025-05-01T10:00:00Z,a@example.org,pro\n"
            "9,2025-05-01T10:00:00Z,a@example.org,pro\n3,2025-05-02T10:00:00Z,,free\n",
        )
        first = self.run_csv(path)
        assert (first.created, first.duplicates) == (2, 1)  # the repeated row is one answer
        again = self.run_csv(path)
        assert (again.created, again.duplicates) == (0, 3)
        key = Response.objects.filter(score=9).get().idempotency_key
        assert key is not None
        assert key.startswith("import:csv:h:")
        assert "a@example.org" not in key

    def test_a_row_repeated_in_a_later_batch_is_caught_by_the_database(self) -> None:
        rows = "".join(f"{i},{i % 11},2025-05-01T10:00:{i % 60:02d}Z\n" for i in range(1, 8))
        path = self.files.write(
            "repeat.csv", "id,score,created_at\n" + rows + "3,3,2025-05-01T10:00:03Z\n"
        )
        outcome = self.run_csv(path, batch_size=4)
        assert (outcome.created, outcome.duplicates) == (7, 1)
        assert Response.objects.filter(survey=self.survey).count() == 7

    def test_a_dry_run_writes_nothing(self) -> None:
        outcome = self.run_csv(FINNISH, mapping={"vastaus": "response_id"}, dry_run=True)
        assert outcome.created == 3
        assert outcome.contacts_created == 2
        assert not Response.objects.exists()
        assert not Contact.objects.exists()

    def test_each_batch_is_all_or_nothing_and_a_rerun_resumes(self) -> None:
        rows = "".join(
            f"{i},{i % 11},2025-05-01T10:00:00Z,p{i}@example.org\n" for i in range(1, 11)
        )
        path = self.files.write("crash.csv", "id,score,created_at,email\n" + rows)
        real = writer_module.insert_tuples
        calls = {"responses": 0}

        def crash_on_second_batch(model, fields, values):
            if model is Response:
                calls["responses"] += 1
                if calls["responses"] == 2:
                    raise DatabaseError("disk full")
            return real(model, fields, values)

        with (
            mock.patch.object(writer_module, "insert_tuples", crash_on_second_batch),
            self.assertRaises(DatabaseError),
        ):
            self.run_csv(path, batch_size=4)
        # The first batch (rows 1-4) is in, with its contacts; the second left nothing.
        assert Response.objects.count() == 4
        assert Contact.objects.count() == 4
        resumed = self.run_csv(path, batch_size=4)
        assert (resumed.created, resumed.duplicates) == (6, 4)
        assert Response.objects.count() == 10
        assert Contact.objects.count() == 10

    def test_reimporting_does_not_bring_back_an_erased_person(self) -> None:
        self.run_csv(FINNISH, mapping={"vastaus": "response_id"})
        maija = Contact.objects.get(email="maija@example.fi")
        erase_contact(maija, actor="system")
        again = self.run_csv(FINNISH, mapping={"vastaus": "response_id"})
        assert again.created == 0
        assert not Contact.objects.filter(email="maija@example.fi").exists()

    def test_a_file_without_rows_or_with_a_bad_mapping_fails_whole(self) -> None:
        with self.assertRaises(ImportFailed):
            self.run_csv(self.files.write("empty.csv", "score,created_at\n"))
        with self.assertRaises(ImportFailed):
            self.run_csv(self.files.write("noscore.csv", "when,comment\n2025-01-01,hi\n"))
        with self.assertRaises(ImportFailed):
            self.run_csv(self.files.write("latin1.csv", "score,created_at\n"), survey_id=123456)

    def test_contacts_only_needs_an_email_or_external_id(self) -> None:
        path = self.files.write(
            "people.csv",
            "email,name,plan\nann@example.org,Ann,pro\n,Nobody,free\nnot-email,Bad,free\n",
        )
        outcome = self.run_csv(path, survey_id=None)
        assert (outcome.contacts_created, outcome.rejected) == (1, 2)
        assert {(e["row"], e["code"]) for e in outcome.report.rows} == {
            (3, "missing_contact"),
            (4, "invalid_email"),
        }
        ann = Contact.objects.get(email="ann@example.org")
        assert (ann.name, ann.properties) == ("Ann", {"plan": "pro"})
        assert not Response.objects.exists()
        again = self.run_csv(path, survey_id=None)
        assert again.contacts_created == 0


class TwoProcessTest(BaseTestCase):
    def test_a_reader_process_checks_the_same_rows_as_one_process(self) -> None:
        path = DATA / "delighted_responses.csv"

        def run(parallel: bool, dry_run: bool) -> Progress:
            options = ImportOptions(
                format="delighted-csv", survey_id=self.survey.pk, parallel=parallel, dry_run=dry_run
            )
            return run_import(self.workspace, path, options)

        alone, together = run(False, True), run(True, True)
        assert together.counts() == alone.counts()
        assert together.report.rows == alone.report.rows
        imported = run(True, False)
        assert (imported.created, imported.rejected) == (5, 4)
        assert Response.objects.filter(survey=self.survey).count() == 5

    def test_a_file_the_reader_cannot_read_fails_the_import(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bad.csv"
            path.write_bytes(b"score,created_at\n\xff\xfe9,2025-01-01\n")
            options = ImportOptions(format="csv", survey_id=self.survey.pk, parallel=True)
            with self.assertRaises(ImportFailed) as caught:
                run_import(self.workspace, path, options)
        assert "UTF-8" in caught.exception.message
