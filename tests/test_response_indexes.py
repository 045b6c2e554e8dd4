"""The answers table's indexes: no single-column index a composite one already leads.

Every index is one more write per answer, so Response's workspace, survey and
contact have no index of their own (migration responses 0007); the composite
indexes lead with each, so lookups and the deletes' cascades by them stay
indexed. Checked on the migrated database of each engine.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import TestCase, TransactionTestCase

from kaiku.responses.models import Response

TABLE = Response._meta.db_table
FOREIGN_KEYS = ("workspace_id", "survey_id", "contact_id")
DROPPED = (
    "responses_response_workspace_id_4905b1c9",
    "responses_response_survey_id_d0cb1fd4",
    "responses_response_contact_id_b56e4acb",
)


def indexes() -> dict[str, list[str]]:
    """Index name → its columns, of the answers table as the database has it."""
    with connection.cursor() as cursor:
        found: dict[str, Any] = connection.introspection.get_constraints(cursor, TABLE)
    return {name: info["columns"] for name, info in found.items() if info["index"]}


def plan(sql: str, params: list[Any]) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # tiny tables: ask for an index
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return " ".join(str(column) for row in cursor.fetchall() for column in row)


class ResponseIndexTests(TestCase):
    def test_no_single_column_index_that_a_composite_leads(self) -> None:
        found = indexes()
        for name in DROPPED:
            assert name not in found, name
        for column in FOREIGN_KEYS:
            leading = [name for name, columns in found.items() if columns[0] == column]
            assert leading, f"{column} leads no index: {found}"
        singles = {columns[0] for columns in found.values() if len(columns) == 1}
        composites = {columns[0] for columns in found.values() if len(columns) > 1}
        assert not singles & composites & set(FOREIGN_KEYS)

    def test_lookups_by_each_foreign_key_use_an_index(self) -> None:
        for column in FOREIGN_KEYS:
            found = plan(f'SELECT "id" FROM "{TABLE}" WHERE "{column}" = %s', [1])  # noqa: S608 (constant names)
            assert "INDEX" in found.upper() or "Index" in found, (column, found)
            assert "SCAN responses_response" not in found, (column, found)  # SQLite's full scan
            assert "Seq Scan" not in found, (column, found)


class MigrationTests(TransactionTestCase):
    def test_the_migration_drops_the_indexes_and_gives_them_back(self) -> None:
        executor = MigrationExecutor(connection)
        executor.migrate([("responses", "0006_processing_outbox")])
        assert set(DROPPED) <= set(indexes())
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes("responses"))
        assert not set(DROPPED) & set(indexes())
