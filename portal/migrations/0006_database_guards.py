"""What the database itself guarantees, on PostgreSQL and SQLite alike:

- every visit names its patient (filled from its course), so one visit per patient and local
  time can be a unique constraint, and a trigger refuses a visit whose patient is not its
  course's patient;
- the audit log is append-only: triggers refuse every UPDATE and DELETE;
- the shared cache's table exists (rate limits, lockouts, used authenticator codes).

SQLite drops a table's triggers when Django rebuilds the table (most AlterField and
constraint changes): a later migration touching these two tables must create them again
(tests/portal/test_audit.py and test_models.py fail if one is missing).
"""

from django.core.management import call_command
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

import django.db.models.deletion

POSTGRESQL = [
    """
    CREATE OR REPLACE FUNCTION portal_auditevent_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'Audit events are append-only.' USING ERRCODE = 'integrity_constraint_violation';
    END $$
    """,
    """
    CREATE TRIGGER portal_auditevent_append_only BEFORE UPDATE OR DELETE ON portal_auditevent
    FOR EACH ROW EXECUTE FUNCTION portal_auditevent_append_only()
    """,
    """
    CREATE OR REPLACE FUNCTION portal_injectionvisit_patient_of_course() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.patient_id IS DISTINCT FROM
           (SELECT patient_id FROM portal_treatmentcourse WHERE id = NEW.course_id) THEN
            RAISE EXCEPTION 'A visit belongs to the patient of its course.' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER portal_injectionvisit_patient_of_course
    BEFORE INSERT OR UPDATE OF patient_id, course_id ON portal_injectionvisit
    FOR EACH ROW EXECUTE FUNCTION portal_injectionvisit_patient_of_course()
    """,
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS portal_auditevent_append_only ON portal_auditevent",
    "DROP FUNCTION IF EXISTS portal_auditevent_append_only()",
    "DROP TRIGGER IF EXISTS portal_injectionvisit_patient_of_course ON portal_injectionvisit",
    "DROP FUNCTION IF EXISTS portal_injectionvisit_patient_of_course()",
]
VISIT_PATIENT_MISMATCH = (
    "NEW.patient_id IS NOT (SELECT patient_id FROM portal_treatmentcourse WHERE id = NEW.course_id)"
)
SQLITE = [
    """
    CREATE TRIGGER IF NOT EXISTS portal_auditevent_no_update BEFORE UPDATE ON portal_auditevent
    BEGIN SELECT RAISE(ABORT, 'Audit events are append-only.'); END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS portal_auditevent_no_delete BEFORE DELETE ON portal_auditevent
    BEGIN SELECT RAISE(ABORT, 'Audit events are append-only.'); END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS portal_injectionvisit_patient_insert BEFORE INSERT ON portal_injectionvisit
    WHEN {VISIT_PATIENT_MISMATCH}
    BEGIN SELECT RAISE(ABORT, 'A visit belongs to the patient of its course.'); END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS portal_injectionvisit_patient_update
    BEFORE UPDATE OF patient_id, course_id ON portal_injectionvisit
    WHEN {VISIT_PATIENT_MISMATCH}
    BEGIN SELECT RAISE(ABORT, 'A visit belongs to the patient of its course.'); END
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS portal_auditevent_no_update",
    "DROP TRIGGER IF EXISTS portal_auditevent_no_delete",
    "DROP TRIGGER IF EXISTS portal_injectionvisit_patient_insert",
    "DROP TRIGGER IF EXISTS portal_injectionvisit_patient_update",
]
BY_VENDOR = {"postgresql": (POSTGRESQL, POSTGRESQL_REVERSE), "sqlite": (SQLITE, SQLITE_REVERSE)}


def create_triggers(apps, schema_editor):
    forward, _reverse = BY_VENDOR[schema_editor.connection.vendor]
    for statement in forward:
        schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    _forward, reverse = BY_VENDOR[schema_editor.connection.vendor]
    for statement in reverse:
        schema_editor.execute(statement)


def fill_visit_patient(apps, schema_editor):
    visits = apps.get_model("portal", "InjectionVisit")
    courses = apps.get_model("portal", "TreatmentCourse")
    visits.objects.filter(patient__isnull=True).update(
        patient_id=Subquery(courses.objects.filter(pk=OuterRef("course_id")).values("patient_id")[:1])
    )


def create_cache_table(apps, schema_editor):
    # Idempotent: the database cache's table, when the database cache is configured.
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0005_outbox_and_constraints"),
    ]

    operations = [
        migrations.RunPython(fill_visit_patient, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="injectionvisit",
            name="patient",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="visits",
                to="portal.patient",
            ),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
        migrations.RunPython(create_cache_table, migrations.RunPython.noop),
    ]
