"""The import pages: upload → columns → dry run → import, progress, roles and outsiders."""

from __future__ import annotations

from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from kaiku.responses.models import Response
from kaiku.transfer.imports import execute_import_run
from kaiku.transfer.models import AuditAction, AuditLog, ImportRun, ImportStatus
from tests.base import BaseTestCase
from tests.smtp import IMMEDIATE_TASKS

DATA = Path(__file__).parent / "data" / "transfer"


@override_settings(TASKS=IMMEDIATE_TASKS)
class ImportPagesTest(BaseTestCase):
    def setUp(self) -> None:
        self.login_as(self.alice)

    def upload(self, name: str = "formbricks_responses.csv", fmt: str = "formbricks") -> ImportRun:
        upload = SimpleUploadedFile(name, (DATA / name).read_bytes(), content_type="text/csv")
        response = self.client.post(
            "/w/acme/import/", {"file": upload, "format": fmt, "survey": str(self.survey.pk)}
        )
        run = ImportRun.objects.get()
        self.assertRedirects(response, f"/w/acme/import/{run.pk}/")
        return run

    def form_data(self, run: ImportRun, action: str, **changes: str) -> dict[str, str]:
        page = self.client.get(f"/w/acme/import/{run.pk}/")
        form = page.context["form"]
        data = {f"column_{i}": form[f"column_{i}"].initial for i in range(len(form.headers))}
        for index, header in enumerate(form.headers):
            if header in changes:
                data[f"column_{index}"] = changes[header]
        return {**data, "date_format": "", "time_zone": "", "action": action}

    def test_the_whole_flow_dry_run_then_import(self) -> None:
        run = self.upload()
        page = self.client.get(f"/w/acme/import/{run.pk}/")
        self.assertContains(page, "1. How likely are you to recommend Acme")
        self.assertContains(page, "Check the file (dry run)")
        self.assertNotContains(page, 'value="import"')
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(f"/w/acme/import/{run.pk}/", self.form_data(run, "check"))
        self.assertRedirects(response, f"/w/acme/import/{run.pk}/")
        run.refresh_from_db()
        assert run.status == ImportStatus.CHECKED
        assert not Response.objects.exists()
        page = self.client.get(f"/w/acme/import/{run.pk}/")
        self.assertContains(page, "Dry run: nothing was written")
        self.assertContains(page, "The score 12 is outside the survey&#x27;s scale 0–10.")
        with self.captureOnCommitCallbacks(execute=True):
            self.client.post(f"/w/acme/import/{run.pk}/", self.form_data(run, "import"))
        run.refresh_from_db()
        assert (run.status, run.counts["created"], run.stored_path) == (ImportStatus.DONE, 3, "")
        assert Response.objects.count() == 3
        assert AuditLog.objects.filter(action=AuditAction.IMPORT_FINISHED, user=self.alice).exists()

    def test_import_needs_a_dry_run_first(self) -> None:
        run = self.upload()
        response = self.client.post(f"/w/acme/import/{run.pk}/", self.form_data(run, "import"))
        self.assertContains(response, "Check the file with a dry run first.", status_code=400)
        assert not Response.objects.exists()

    def test_a_mapping_without_a_score_is_refused_on_the_page(self) -> None:
        run = self.upload()
        nps = "1. How likely are you to recommend Acme to a friend or colleague?"
        data = self.form_data(run, "check", **{nps: "ignore"})
        response = self.client.post(f"/w/acme/import/{run.pk}/", data)
        self.assertContains(response, "Choose the column that holds: Score", status_code=400)
        run.refresh_from_db()
        assert run.status == ImportStatus.UPLOADED

    def test_a_running_import_shows_progress_and_refreshes(self) -> None:
        run = self.upload()
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportStatus.RUNNING, processed_rows=1200, processed_bytes=500, total_bytes=1000
        )
        page = self.client.get(f"/w/acme/import/{run.pk}/")
        self.assertContains(page, '<meta http-equiv="refresh" content="2">', html=False)
        self.assertContains(page, '<progress max="100" value="50">')
        self.assertNotContains(page, "Check the file (dry run)")

    def test_the_job_runs_a_queued_run_once(self) -> None:
        run = self.upload()
        ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.QUEUED, dry_run=False)
        execute_import_run(run.pk)
        execute_import_run(run.pk)  # a second worker with the same job: nothing happens
        run.refresh_from_db()
        assert run.status == ImportStatus.DONE
        assert Response.objects.count() == 3

    def test_a_broken_file_fails_the_run_with_a_reason(self) -> None:
        upload = SimpleUploadedFile("empty.csv", b"\n\n", content_type="text/csv")
        self.client.post(
            "/w/acme/import/", {"file": upload, "format": "csv", "survey": str(self.survey.pk)}
        )
        run = ImportRun.objects.get()
        ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.QUEUED)
        execute_import_run(run.pk)
        run.refresh_from_db()
        assert run.status == ImportStatus.FAILED
        assert "header" in run.error

    def test_the_form_imports_answers_into_a_survey_by_default(self) -> None:
        page = self.client.get("/w/acme/import/")
        self.assertContains(
            page, f'<option value="{self.survey.pk}" selected>Relationship NPS</option>', html=True
        )
        self.assertContains(page, '<option value="">Contacts only</option>', html=True)

    def test_the_list_shows_the_runs(self) -> None:
        self.upload()
        page = self.client.get("/w/acme/import/")
        self.assertContains(page, "formbricks_responses.csv")

    def test_agents_are_refused_and_outsiders_see_nothing(self) -> None:
        run = self.upload()
        urls = ["/w/acme/import/", f"/w/acme/import/{run.pk}/"]
        self.client.force_login(self.bob)
        for url in urls:
            assert self.client.get(url).status_code == 403
        for url in urls:
            self.assertRefusedToOutsider(url)
            self.assertRefusedToOutsider(url, "post")
        # Charlie's own workspace with Acme's run id: still nothing.
        self.client.force_login(self.charlie)
        assert self.client.get(f"/w/globex/import/{run.pk}/").status_code == 404
        assert (
            self.client.post(f"/w/globex/import/{run.pk}/", {"action": "check"}).status_code == 404
        )


class AbandonedUploadsTest(BaseTestCase):
    def test_uploads_left_for_a_week_are_deleted(self) -> None:
        from datetime import timedelta

        from django.utils import timezone

        from kaiku.transfer.imports import prune_abandoned_uploads, store_upload

        with (DATA / "generic_semicolon.csv").open("rb") as source:
            run = store_upload(self.workspace, source, "generic.csv", user=self.alice)
        path = Path(run.stored_path)
        assert path.exists()
        assert prune_abandoned_uploads() == 0
        assert prune_abandoned_uploads(timezone.now() + timedelta(days=8)) == 1
        run.refresh_from_db()
        assert (run.stored_path, run.status) == ("", ImportStatus.FAILED)
        assert not path.exists()
