"""The database cache table (rate-limit counters), so `migrate` alone sets Kaiku up.

Runs Django's own `createcachetable` logic; harmless when KAIKU_REDIS_URL
is set (the table then simply stays empty).
"""

from io import StringIO

from django.core.management.commands.createcachetable import Command
from django.db import migrations

TABLE = "kaiku_cache"


def create_cache_table(apps, schema_editor):
    command = Command(stdout=StringIO())
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, TABLE, dry_run=False)


def drop_cache_table(apps, schema_editor):
    if TABLE in schema_editor.connection.introspection.table_names():
        schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("responses", "0003_comment_language_kiosk")]

    operations = [migrations.RunPython(create_cache_table, drop_cache_table)]
