"""The data version that kept signed-in pages are checked against (portal/keep.py).

The triggers that move it are not here: portal/keep.py installs them after every migrate, on
every table that exists then, so tables added later and tables SQLite rebuilds get them too."""

import time

from django.db import migrations, models


def first_version(apps, schema_editor):  # type: ignore[no-untyped-def]
    # Microseconds since 1970, as the triggers start it if the row is ever emptied (a test's
    # flush): a version number is then never given out twice.
    apps.get_model("portal", "DataVersion").objects.using(schema_editor.connection.alias).create(
        id=1, n=int(time.time() * 1_000_000)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0010_reminder_inbox_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="DataVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("n", models.BigIntegerField()),
            ],
        ),
        migrations.RunPython(first_version, migrations.RunPython.noop),
    ]
