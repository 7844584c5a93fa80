"""The store's tables (cases, events, timers, outbox, meta), created by SQLAlchemy on the
migration's connection with the layout ``SQLStore`` expects, and the admin's unmanaged model."""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

from servicewf.contrib.django.conf import settings_value


def create_tables(apps: Any, schema_editor: Any) -> None:
    from servicewf.contrib.django.store import DjangoStore

    DjangoStore(schema_editor.connection.alias, create=True)


def drop_tables(apps: Any, schema_editor: Any) -> None:
    from servicewf.contrib.django.store import DjangoStore

    DjangoStore(schema_editor.connection.alias).drop_tables()


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.RunPython(create_tables, drop_tables),
        migrations.CreateModel(
            name="CaseRecord",
            fields=[
                ("id", models.CharField(max_length=200, primary_key=True, serialize=False)),
                ("process", models.CharField(max_length=200)),
                ("definition_version", models.IntegerField()),
                ("state", models.CharField(max_length=200)),
                ("version", models.IntegerField()),
            ],
            options={"managed": False, "db_table": f"{settings_value('PREFIX')}cases",
                     "verbose_name": "case", "verbose_name_plural": "cases",
                     "ordering": ("id",)},
        ),
    ]
