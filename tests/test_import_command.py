"""`kaiku import`: options, progress on stderr, the report, the import history."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from django.core.management import CommandError, call_command

from kaiku.responses.models import Response
from kaiku.transfer.models import AuditAction, AuditLog, ImportRun, ImportStatus
from tests.base import BaseTestCase

DATA = Path(__file__).parent / "data" / "transfer"


class ImportCommandTest(BaseTestCase):
    def run_command(self, *args: str) -> tuple[str, str]:
        out, err = io.StringIO(), io.StringIO()
        call_command("import", *args, stdout=out, stderr=err)
        return out.getvalue(), err.getvalue()

    def test_a_dry_run_reports_rejected_rows_and_writes_no_answers(self) -> None:
        out, err = self.run_command(
            "acme", str(DATA / "delighted_responses.csv"), "--format", "delighted-csv",
            "--survey", str(self.survey.pk), "--dry-run",
        )  # fmt: skip
        assert "9 rows: 5 would be imported, 0 already there, 4 rejected" in out
        assert "row 5: score: The score 11 is outside the survey's scale 0–10." in out
        assert "Dry run: nothing was written." in out
        assert "100%" in err  # the progress bar
        assert "rows/s" in err
        assert not Response.objects.exists()
        run = ImportRun.objects.get()
        assert (run.status, run.dry_run, run.counts["created"]) == (ImportStatus.CHECKED, True, 5)

    def test_it_imports_with_a_mapping_and_writes_the_report_file(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "rejected.csv"
            out, _err = self.run_command(
                "acme", str(DATA / "generic_semicolon.csv"), "--format", "csv",
                "--survey", str(self.survey.pk), "--map", "vastaus=response_id",
                "--map", "maa=ignore", "--report", str(report),
            )  # fmt: skip
            lines = report.read_text(encoding="utf-8").splitlines()
        assert "5 rows: 3 imported" in out
        assert lines[0] == "row,field,code,reason"
        assert lines[1].startswith("5,created_at,invalid_date,")
        assert Response.objects.count() == 3
        assert all("maa" not in r.properties for r in Response.objects.all())
        entry = AuditLog.objects.get(action=AuditAction.IMPORT_FINISHED)
        assert (entry.actor_label, entry.details["created"]) == ("cli", 3)

    def test_it_explains_what_is_wrong(self) -> None:
        csv_file = str(DATA / "generic_semicolon.csv")
        cases = [
            (["nope", csv_file, "--format", "csv", "--survey", "1"], "no workspace"),
            (["acme", csv_file, "--format", "csv"], "--survey ID is required"),
            (["acme", "/no/such.csv", "--format", "csv", "--survey", "1"], "no such file"),
            (["acme", csv_file, "--format", "csv", "--survey", str(self.survey.pk),
              "--map", "arvosana=ignore"], "Choose the column that holds: Score"),
        ]  # fmt: skip
        for args, message in cases:
            with self.subTest(message=message), self.assertRaises(CommandError) as caught:
                self.run_command(*args)
            assert message in str(caught.exception)

    def test_charlies_survey_is_not_a_target_for_acme(self) -> None:
        from kaiku.surveys.models import Survey

        globex = Survey.objects.create(workspace=self.charlies_workspace, name="Globex NPS")
        with self.assertRaises(CommandError) as caught:
            self.run_command(
                "acme", str(DATA / "delighted_responses.csv"), "--format", "delighted-csv",
                "--survey", str(globex.pk),
            )  # fmt: skip
        assert "no survey" in str(caught.exception)
        assert not Response.objects.exists()
