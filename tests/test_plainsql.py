"""kaiku.lib.plainsql and the job backend built on it: the same objects and rows as the ORM.

The answer path reads its survey (public link, widget, API) and API key, and
writes its job row, in plain SQL built from the models' metadata. These tests
hold that equal to what the ORM reads and writes, field by field, on SQLite
and on PostgreSQL (the PostgreSQL pass of the suite).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, models, transaction
from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper
from django.db.backends.sqlite3.base import DatabaseWrapper as SqliteWrapper
from django.db.models import Model
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from kaiku.api.actions import create_api_key, find_api_key
from kaiku.api.models import Scope
from kaiku.contacts.models import Contact
from kaiku.lib import plainsql
from kaiku.lib.tasks import DatabaseBackend
from kaiku.responses.models import Channel, Response
from kaiku.responses.tasks import process_response
from kaiku.surveys.models import Survey
from tests.base import BaseTestCase

SqliteOperations, PostgresOperations = SqliteWrapper.ops_class, PostgresWrapper.ops_class
NOON = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
BOTH_QUEUES = {
    "default": {"BACKEND": "kaiku.lib.tasks.DatabaseBackend"},
    "library": {"BACKEND": "django_tasks_db.DatabaseBackend"},
}


def values(obj: Model) -> dict[str, Any]:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


class ReadTests(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        # Values of every kind the converters handle: JSON, datetimes, booleans, nulls.
        cls.workspace.languages = ["fi", "et"]
        cls.workspace.open_tracking = True
        cls.workspace.logo_url = "https://acme.example/logo.png"
        cls.workspace.save()
        cls.survey.hidden_properties = ["plan", "region"]
        cls.survey.widget_origins = ["https://acme.example"]
        cls.survey.is_active = False
        cls.survey.reminder_days = None
        cls.survey.created_at = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
        cls.survey.save()

    def test_a_survey_by_public_id_equals_the_orms_with_its_workspace_in_one_query(self) -> None:
        expected = Survey.objects.select_related("workspace").get(pk=self.survey.pk)
        with self.assertNumQueries(1):
            found = Survey.objects.by_public_id(self.survey.public_id)
            assert found is not None
            workspace = found.workspace
        assert values(found) == values(expected)
        assert values(workspace) == values(expected.workspace)
        assert workspace.languages == ["fi", "et"]
        assert found.hidden_properties == ["plan", "region"]
        assert found.is_active is False
        assert found.created_at == datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
        assert found._state.adding is False
        assert found._state.db == "default"

    def test_an_unknown_public_id_is_none(self) -> None:
        assert Survey.objects.by_public_id("no-such-link") is None
        assert Survey.objects.by_public_id("") is None

    def test_a_survey_in_a_workspace_is_refused_to_another_workspace(self) -> None:
        found = Survey.objects.in_workspace(self.workspace, self.survey.pk)
        assert found is not None
        assert values(found) == values(Survey.objects.get(pk=self.survey.pk))
        with self.assertNumQueries(0):
            assert found.workspace is self.workspace
        assert Survey.objects.in_workspace(self.charlies_workspace, self.survey.pk) is None

    def test_an_id_beyond_any_integer_column_is_none_not_an_error(self) -> None:
        assert Survey.objects.in_workspace(self.workspace, 2**63) is None
        assert Survey.objects.in_workspace(self.workspace, -(2**63) - 1) is None
        assert Survey.objects.in_workspace(self.workspace, 0) is None

    def test_an_api_key_is_found_by_its_hash_with_its_workspace(self) -> None:
        key, token = create_api_key(self.workspace, "CRM", Scope.READ_WRITE, None, None)
        with self.assertNumQueries(1):
            found = find_api_key(token)
            assert found is not None
            assert found.workspace.slug == "acme"
        assert values(found) == values(key)
        assert find_api_key(token[:-1] + ("A" if token[-1] != "A" else "B")) is None

    def test_only_model_fields_can_be_asked_for(self) -> None:
        with self.assertRaises(TypeError):
            plainsql.get_with_parent(Survey, "name", public_id="x")


@override_settings(TASKS=BOTH_QUEUES)
class JobRowTests(BaseTestCase):
    def test_the_job_row_is_the_one_django_tasks_db_writes(self) -> None:
        ours = process_response.enqueue(41)
        theirs = process_response.using(backend="library").enqueue(41)
        assert isinstance(process_response.get_backend(), DatabaseBackend)
        ours_row = values(DBTaskResult.objects.get(pk=ours.id))
        theirs_row = values(DBTaskResult.objects.get(pk=theirs.id))
        for row in (ours_row, theirs_row):
            del row["id"]
            row["enqueued_at"] = row["enqueued_at"].replace(microsecond=0, second=0)
        theirs_row["backend_name"] = "default"
        assert ours_row == theirs_row
        assert ours_row["args_kwargs"] == {"args": [41], "kwargs": {}}

    def test_the_job_is_ready_and_deferred_jobs_wait(self) -> None:
        result = process_response.enqueue(7)
        later = process_response.using(run_after=datetime.now(UTC) + timedelta(hours=1))
        deferred = later.enqueue(8)
        ready = set(DBTaskResult.objects.ready().values_list("pk", flat=True))
        assert {str(pk) for pk in ready} >= {str(result.id)}
        assert str(deferred.id) not in {str(pk) for pk in ready}
        stored = process_response.get_backend().get_result(result.id)
        assert stored.args == [7]
        assert stored.status == "READY"

    def test_insert_needs_a_primary_key_it_can_read_back(self) -> None:
        with self.assertRaises(ValueError):
            plainsql.insert(DBTaskResult(task_path="x", id=None))


class ResponseInsertTests(BaseTestCase):
    def answer(self, **extra: Any) -> Response:
        fields = {"score": 3, "comment": "Slow", "channel": "link", "properties": {"plan": "pro"}}
        return Response(workspace=self.workspace, survey=self.survey, **{**fields, **extra})

    def test_an_inserted_answer_is_the_row_save_writes(self) -> None:
        saved, inserted = self.answer(idempotency_key="a"), self.answer(idempotency_key="b")
        saved.save()
        inserted.insert()
        assert inserted.pk is not None
        assert inserted.pk != saved.pk
        assert inserted._state.adding is False
        rows = [values(Response.objects.get(pk=r.pk)) for r in (saved, inserted)]
        for row in rows:
            for name in ("id", "idempotency_key", "created_at", "updated_at"):
                del row[name]
        assert rows[0] == rows[1]
        assert rows[1]["scale_min"] == 0
        assert rows[1]["scale_max"] == 10

    def test_an_out_of_scale_score_is_refused_before_the_database(self) -> None:
        with self.assertNumQueries(0), self.assertRaises(ValidationError):
            self.answer(score=11).insert()

    def test_a_repeated_key_is_an_integrity_error_like_save(self) -> None:
        self.answer(idempotency_key="same").insert()
        with self.assertRaises(IntegrityError), transaction.atomic():
            self.answer(idempotency_key="same").insert()
        assert Response.objects.filter(idempotency_key="same").count() == 1


class InsertValueTests(BaseTestCase):
    """insert() passes plain fields' values through as they are; every value must still
    be the one the field itself prepares for this database (what save() sends)."""

    def prepared(self, answer: Response) -> tuple[list[Any], list[Any]]:
        fields, _sql = plainsql._insert_plan(Response, True)
        wrapper = connections["default"]
        plain = plainsql._plain_types(Response, True, wrapper)
        fast = plainsql._values(answer, fields, plain, wrapper)
        slow = [f.get_db_prep_save(f.pre_save(answer, True), wrapper) for f in fields]
        return fast, slow

    def test_every_field_is_prepared_as_the_field_does(self) -> None:
        contact = Contact.objects.create(workspace=self.workspace, email="a@example.com")
        answers = [
            Response(
                workspace=self.workspace,
                survey=self.survey,
                contact=contact,
                score=0,
                comment="Hidas \u00e4\u00e4ni\nrivi",
                language="fi",
                channel=Channel.LINK,  # a str subclass: goes the field's own way
                properties={"plan": "pro", "seats": 3, "nested": [1, None]},
                source_ref="ticket 42",
                idempotency_key="k",
                edit_token="t" * 32,
                tags=["slow"],
                notes="",
                created_at=datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC),
            ),
            Response(workspace_id=self.workspace.pk, survey_id=self.survey.pk, score=10),
            # Values of other types than the field's: int() and str() as the field does.
            Response(workspace_id=str(self.workspace.pk), survey=self.survey, score=True),
        ]
        for answer in answers:
            with time_machine.travel(NOON, tick=False):  # updated_at is auto_now
                fast, slow = self.prepared(answer)
            # psycopg's Jsonb wrappers (PostgreSQL) compare by identity: compare their contents.
            assert [getattr(v, "obj", v) for v in fast] == [getattr(v, "obj", v) for v in slow]
            assert [type(v) for v in fast] == [type(v) for v in slow]

    def test_only_the_exact_plain_classes_on_a_database_that_keeps_integers(self) -> None:
        class Shouting(models.CharField[str, str]):
            def get_prep_value(self, value: Any) -> Any:
                return str(value).upper()

        def field(name: str) -> models.Field[Any, Any]:
            found = Response._meta.get_field(name)
            assert isinstance(found, models.Field)
            return found

        score, comment, survey = field("score"), field("comment"), field("survey")
        assert plainsql._plain_type(score, SqliteOperations) is int
        assert plainsql._plain_type(survey, SqliteOperations) is int  # its BigAutoField's
        assert plainsql._plain_type(comment, SqliteOperations) is str
        assert plainsql._plain_type(Shouting(max_length=5), SqliteOperations) is None
        assert plainsql._plain_type(field("created_at"), SqliteOperations) is None
        assert plainsql._plain_type(field("tags"), SqliteOperations) is None
        # psycopg's sized integer types on PostgreSQL: the field's own way there.
        assert plainsql._plain_type(score, PostgresOperations) is None
        assert plainsql._plain_type(survey, PostgresOperations) is None
        assert plainsql._plain_type(comment, PostgresOperations) is str
