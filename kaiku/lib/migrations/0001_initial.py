"""The rate-limit counter table; UNLOGGED on PostgreSQL (no WAL flush per hit)."""

from django.db import migrations, models


def set_unlogged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE kaiku_rate_counter SET UNLOGGED")


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="RateCounter",
            fields=[
                ("key", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("hits", models.PositiveIntegerField(default=0)),
                ("expires_at", models.BigIntegerField()),
            ],
            options={"db_table": "kaiku_rate_counter"},
        ),
        migrations.RunPython(set_unlogged, migrations.RunPython.noop),
    ]
