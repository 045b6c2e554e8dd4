"""CSV import of contacts: reading, mapping, the report, all-or-nothing, upserts, the pages."""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kaiku.contacts import importer, uploads
from kaiku.contacts.importer import CsvError, ImportRejected, import_contacts, plan_import, read_csv
from kaiku.contacts.models import Contact
from tests.base import BaseTestCase

GOOD = (
    "Email;Name;Kieli;Customer no;Plan;Seats\n"
    "ann@example.org;Ann;fi;A-1;pro;12\n"
    "BEN@example.org;Ben;;A-2;free;00100\n"
)


def table(text: str) -> importer.CsvTable:
    return read_csv(text.encode())


class ReadingTest(BaseTestCase):
    def test_semicolons_and_a_byte_order_mark(self) -> None:
        parsed = read_csv(b"\xef\xbb\xbf" + GOOD.encode())
        self.assertEqual(parsed.headers[0], "Email")
        self.assertEqual(parsed.delimiter, ";")
        self.assertEqual(parsed.rows[1][1], "Ben")

    def test_commas_quotes_and_short_rows(self) -> None:
        parsed = table('email,name,note\n"a@example.org","Smith, Ann"\n')
        self.assertEqual(parsed.rows, [["a@example.org", "Smith, Ann", ""]])

    def test_files_that_cannot_be_read_say_why(self) -> None:
        cases = {
            "not UTF-8": "ä,b\n1,2\n".encode("latin-1"),
            "empty": b"\n\n",
            "no contacts": b"email,name\n",
            "Two columns are called": b"email,Email\na,b\n",
            "needs a name": b"email,,x\na,b,c\n",
        }
        for expected, data in cases.items():
            with self.subTest(expected), self.assertRaises(CsvError) as caught:
                read_csv(data)
            self.assertIn(expected, str(caught.exception))

    def test_mapping_is_suggested_from_the_headers(self) -> None:
        suggested = importer.suggest_mapping(
            ["Sähköposti", "Full name", "Kieli", "Customer ID", "Plan", "E-mail"]
        )
        self.assertEqual(
            suggested,
            ["email", "name", "language", "external_id", "property:Plan", "property:E-mail"],
        )


class PlanTest(BaseTestCase):
    def test_bad_rows_are_reported_with_row_numbers_and_nothing_is_imported(self) -> None:
        text = (
            "email,name,language,id\n"
            "ok@example.org,Ok,fi,1\n"
            "not-an-email,Bad,en,2\n"
            ",Nobody,,\n"
            "x@example.org,X,sv,3\n"
            "ok@example.org,Again,,4\n"
        )
        parsed = table(text)
        mapping = importer.suggest_mapping(parsed.headers)
        plan = plan_import(self.workspace, parsed, mapping)
        problems = [(p.row, p.column) for p in plan.problems]
        self.assertEqual(problems, [(3, "email"), (4, ""), (5, "language"), (6, "email")])
        self.assertIn("not-an-email is not a valid email address", plan.problems[0].message)
        self.assertIn("also on row 2", plan.problems[3].message)
        with self.assertRaises(ImportRejected):
            import_contacts(self.workspace, parsed, mapping)
        self.assertFalse(Contact.objects.filter(workspace=self.workspace).exists())

    def test_a_mapping_without_email_or_external_id_is_refused(self) -> None:
        parsed = table("email,name\na@example.org,A\n")
        plan = plan_import(self.workspace, parsed, ["ignore", "name"])
        self.assertFalse(plan.ok)
        self.assertIn("email or to external id", plan.problems[0].message)
        plan = plan_import(self.workspace, parsed, ["email", "email"])
        self.assertIn("already mapped", plan.problems[0].message)

    def test_too_many_properties_after_merging_is_a_row_problem(self) -> None:
        Contact.objects.create(
            workspace=self.workspace,
            email="a@example.org",
            properties={f"p{i}": i for i in range(50)},
        )
        plan = plan_import(
            self.workspace, table("email,extra\na@example.org,1\n"), ["email", "property:extra"]
        )
        self.assertEqual([(p.row, p.column) for p in plan.problems], [(2, "")])


class ImportTest(BaseTestCase):
    def test_it_creates_contacts_with_typed_properties(self) -> None:
        parsed = table(GOOD)
        result = import_contacts(self.workspace, parsed, importer.suggest_mapping(parsed.headers))
        self.assertEqual((result.created, result.updated, result.unchanged), (2, 0, 0))
        ann = Contact.objects.get(workspace=self.workspace, external_id="A-1")
        self.assertEqual(ann.email, "ann@example.org")
        self.assertEqual(ann.language, "fi")
        self.assertEqual(ann.properties, {"Plan": "pro", "Seats": 12})
        ben = Contact.objects.get(workspace=self.workspace, email="ben@example.org")
        self.assertEqual(ben.properties["Seats"], "00100")  # a postcode stays text

    def test_importing_the_same_file_again_changes_nothing(self) -> None:
        parsed = table(GOOD)
        mapping = importer.suggest_mapping(parsed.headers)
        import_contacts(self.workspace, parsed, mapping)
        again = import_contacts(self.workspace, parsed, mapping)
        self.assertEqual((again.created, again.updated, again.unchanged), (0, 0, 2))
        self.assertEqual(Contact.objects.filter(workspace=self.workspace).count(), 2)

    def test_it_matches_by_external_id_then_email_and_merges_properties(self) -> None:
        by_id = Contact.objects.create(
            workspace=self.workspace,
            external_id="A-1",
            email="old@example.org",
            properties={"a": 1},
        )
        by_email = Contact.objects.create(
            workspace=self.workspace, email="ben@example.org", name="B", properties={"b": 2}
        )
        parsed = table(GOOD)
        result = import_contacts(self.workspace, parsed, importer.suggest_mapping(parsed.headers))
        self.assertEqual((result.created, result.updated), (0, 2))
        by_id.refresh_from_db()
        by_email.refresh_from_db()
        self.assertEqual(by_id.email, "ann@example.org")
        self.assertEqual(by_id.properties, {"a": 1, "Plan": "pro", "Seats": 12})
        self.assertEqual(by_email.external_id, "A-2")
        self.assertEqual(by_email.name, "Ben")
        self.assertEqual(by_email.properties, {"b": 2, "Plan": "free", "Seats": "00100"})

    def test_an_email_of_a_contact_with_another_external_id_stays_with_it(self) -> None:
        owner = Contact.objects.create(
            workspace=self.workspace, external_id="Z-9", email="ann@example.org"
        )
        parsed = table("email,id\nann@example.org,A-1\n")
        import_contacts(self.workspace, parsed, ["email", "external_id"])
        newcomer = Contact.objects.get(workspace=self.workspace, external_id="A-1")
        self.assertIsNone(newcomer.email)
        owner.refresh_from_db()
        self.assertEqual(owner.email, "ann@example.org")

    def test_empty_cells_leave_stored_values_alone(self) -> None:
        Contact.objects.create(
            workspace=self.workspace, email="ann@example.org", name="Ann", language="et"
        )
        import_contacts(
            self.workspace,
            table("email,name,language\nann@example.org,,\n"),
            ["email", "name", "language"],
        )
        ann = Contact.objects.get(workspace=self.workspace, email="ann@example.org")
        self.assertEqual((ann.name, ann.language), ("Ann", "et"))

    def test_other_workspaces_are_untouched(self) -> None:
        theirs = Contact.objects.create(
            workspace=self.charlies_workspace, email="ann@example.org", name="Theirs"
        )
        parsed = table(GOOD)
        import_contacts(self.workspace, parsed, importer.suggest_mapping(parsed.headers))
        theirs.refresh_from_db()
        self.assertEqual(theirs.name, "Theirs")
        self.assertEqual(Contact.objects.filter(email="ann@example.org").count(), 2)

    def test_ten_thousand_rows_are_written_in_batches(self) -> None:
        lines = ["email,name,plan"] + [f"p{i}@example.org,P {i},pro" for i in range(10_000)]
        parsed = table("\n".join(lines))
        mapping = ["email", "name", "property:plan"]
        # Reads in batches of 500 and inserts as many rows per query as the
        # database takes (SQLite's parameter limit makes that ~90): not 10k queries.
        with CaptureQueriesContext(connection) as queries:
            result = import_contacts(self.workspace, parsed, mapping)
        self.assertEqual(result.created, 10_000)
        self.assertLess(len(queries), 200)
        with CaptureQueriesContext(connection) as queries:
            again = import_contacts(self.workspace, parsed, mapping)
        self.assertEqual(again.unchanged, 10_000)
        selects = [q for q in queries if q["sql"].startswith("SELECT")]
        self.assertEqual(len(selects), 20)  # a second run only reads, 500 emails at a time


class ImportCommandTest(BaseTestCase):
    def setUp(self) -> None:
        folder = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, folder)
        self.path = folder / "contacts.csv"
        self.path.write_text(GOOD, encoding="utf-8")

    def test_dry_run_writes_nothing_then_the_import_does(self) -> None:
        out = io.StringIO()
        call_command("import_contacts", "acme", str(self.path), "--dry-run", stdout=out)
        self.assertIn("2 new", out.getvalue())
        self.assertFalse(Contact.objects.exists())
        call_command("import_contacts", "acme", str(self.path), "--map", "plan=ignore", stdout=out)
        self.assertEqual(Contact.objects.filter(workspace=self.workspace).count(), 2)
        self.assertNotIn("Plan", Contact.objects.get(external_id="A-1").properties)

    def test_problems_are_reported_and_fail_the_command(self) -> None:
        self.path.write_text("email\nnope\n", encoding="utf-8")
        err = io.StringIO()
        with self.assertRaises(CommandError):
            call_command("import_contacts", "acme", str(self.path), stderr=err)
        self.assertIn("row 2, email", err.getvalue())


class ImportPagesTest(BaseTestCase):
    def setUp(self) -> None:
        self.data_dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.data_dir)
        patcher = override_settings(DATA_DIR=Path(self.data_dir))
        patcher.enable()
        self.addCleanup(patcher.disable)

    def upload(self, text: str) -> str:
        self.login_as(self.alice)
        response = self.client.post(
            reverse("contacts:import", args=["acme"]),
            {"file": SimpleUploadedFile("c.csv", text.encode(), content_type="text/csv")},
        )
        self.assertEqual(response.status_code, 302)
        return str(response["Location"])

    def uploaded_files(self) -> list[Path]:
        return list((Path(self.data_dir) / "uploads").glob("*.csv"))

    def test_upload_map_check_and_import(self) -> None:
        map_url = self.upload(GOOD)
        page = self.client.get(map_url)
        self.assertContains(page, "The file has 2 rows.")
        self.assertContains(page, '<option value="external_id" selected>')  # "Customer no"
        reference = page.context["upload"]
        post = {"upload": reference, "action": "check"}
        post |= {
            f"target_{i}": t
            for i, t in enumerate(
                ["email", "name", "language", "external_id", "property", "property"]
            )
        }
        post |= {"property_4": "plan", "property_5": "seats"}
        checked = self.client.post(map_url, post)
        self.assertContains(checked, "2 new contacts, 0 updated, 0 unchanged.")
        self.assertFalse(Contact.objects.exists())
        done = self.client.post(map_url, {**post, "action": "import"})
        self.assertRedirects(done, reverse("contacts:list", args=["acme"]))
        ann = Contact.objects.get(external_id="A-1")
        self.assertEqual(ann.properties, {"plan": "pro", "seats": 12})
        self.assertEqual(self.uploaded_files(), [])  # the upload is gone

    def test_bad_rows_show_the_report_and_import_nothing(self) -> None:
        map_url = self.upload("email,name\nok@example.org,Ok\nbad,Bad\n")
        reference = self.client.get(map_url).context["upload"]
        post = {"upload": reference, "target_0": "email", "target_1": "name"}
        for action in ("check", "import"):
            response = self.client.post(map_url, {**post, "action": action})
            self.assertContains(response, "1 problem: nothing was imported", status_code=400)
            self.assertContains(response, '<td class="num">3</td>', status_code=400)
        self.assertFalse(Contact.objects.exists())

    def test_a_file_that_is_not_csv_is_refused_at_upload(self) -> None:
        self.login_as(self.alice)
        response = self.client.post(
            reverse("contacts:import", args=["acme"]),
            {"file": SimpleUploadedFile("c.csv", "é;x\n1;2".encode("latin-1"))},
        )
        self.assertContains(response, "not UTF-8", status_code=400)
        self.assertEqual(self.uploaded_files(), [])

    def test_someone_elses_or_a_forged_upload_is_expired(self) -> None:
        map_url = self.upload(GOOD)
        self.login_as(self.bob)  # an agent: 403 before anything
        self.assertEqual(self.client.get(map_url).status_code, 403)
        self.client.force_login(self.charlie)
        self.assertEqual(self.client.get(map_url).status_code, 404)
        theirs = map_url.replace("/w/acme/", "/w/globex/")
        response = self.client.get(theirs)
        self.assertRedirects(response, reverse("contacts:import", args=["globex"]))
        self.login_as(self.alice)
        forged = reverse("contacts:import_map", args=["acme"]) + "?upload=../../etc/passwd"
        self.assertRedirects(self.client.get(forged), reverse("contacts:import", args=["acme"]))

    def test_cancel_deletes_the_upload_and_stale_uploads_are_swept(self) -> None:
        map_url = self.upload(GOOD)
        reference = self.client.get(map_url).context["upload"]
        self.assertEqual(len(self.uploaded_files()), 1)
        self.client.post(reverse("contacts:import_cancel", args=["acme"]), {"upload": reference})
        self.assertEqual(self.uploaded_files(), [])
        self.upload(GOOD)
        [path] = self.uploaded_files()
        import os

        os.utime(path, (0, 0))
        self.assertEqual(uploads.remove_stale_uploads(), 1)
