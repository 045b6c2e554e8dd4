"""Drop the single-column indexes of Response's workspace, survey and contact.

The composite indexes (response_workspace_time, response_survey_time,
response_contact_time) lead with each of these columns, so every lookup by one
of them, the deletes' included, has an index without them; each answer wrote
three index entries fewer. Dropped by name, not by AlterField: on SQLite that
would copy the whole table three times; the names are the ones Django gives
(the same on SQLite and PostgreSQL).
"""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = {
    "responses_response_workspace_id_4905b1c9": "workspace_id",
    "responses_response_survey_id_d0cb1fd4": "survey_id",
    "responses_response_contact_id_b56e4acb": "contact_id",
}


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_workspace_webhook_events"),
        ("contacts", "0001_initial"),
        ("responses", "0006_processing_outbox"),
        ("surveys", "0003_delivery"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"',
                    f'CREATE INDEX IF NOT EXISTS "{name}" ON "responses_response" ("{column}")',
                )
                for name, column in INDEXES.items()
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="response",
                    name="contact",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="responses",
                        to="contacts.contact",
                    ),
                ),
                migrations.AlterField(
                    model_name="response",
                    name="survey",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="responses",
                        to="surveys.survey",
                    ),
                ),
                migrations.AlterField(
                    model_name="response",
                    name="workspace",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="responses",
                        to="accounts.workspace",
                    ),
                ),
            ],
        )
    ]
