"""Three foreign keys lose their own index: each is the first column of an index or unique
constraint that serves the same lookups (reminder_inbox and reminder_unique for the recipient,
reminder_patient_due for the patient, delivery_unique for the reminder). Every claim, finish and
delivery wrote them for nothing: without them one worker's morning rush ran about a sixth
faster (BENCHMARKS.md).

The indexes are dropped by name. The AlterField Django would write drops and re-adds each
foreign key on PostgreSQL, checking every row again under lock, and rebuilds both tables on
SQLite; neither is needed to drop an index."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

INDEXES = [
    ("portal_delivery", "reminder_id", "portal_delivery_reminder_id_e14eda3c"),
    ("portal_reminder", "patient_id", "portal_reminder_patient_id_187f6f7a"),
    ("portal_reminder", "recipient_id", "portal_reminder_recipient_id_e7ce6230"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0011_data_version"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")',
                )
                for table, column, name in INDEXES
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="delivery",
                    name="reminder",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="deliveries",
                        to="portal.reminder",
                    ),
                ),
                migrations.AlterField(
                    model_name="reminder",
                    name="patient",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="reminders",
                        to="portal.patient",
                    ),
                ),
                migrations.AlterField(
                    model_name="reminder",
                    name="recipient",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="reminders",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
    ]
