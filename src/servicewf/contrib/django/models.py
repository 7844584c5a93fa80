"""An unmanaged model over the store's ``cases`` table, for the admin's list and search.

It is read-only by design: the admin changes a case only through the engine (see
:mod:`servicewf.contrib.django.admin`), never by saving this model.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from servicewf.contrib.django.conf import settings_value


class CaseRecord(models.Model):
    """A row of the store's ``cases`` table (id, process, state, version)."""

    id: models.CharField[str, str] = models.CharField(primary_key=True, max_length=200)
    process: models.CharField[str, str] = models.CharField(max_length=200)
    definition_version: models.IntegerField[int, int] = models.IntegerField()
    state: models.CharField[str, str] = models.CharField(max_length=200)
    version: models.IntegerField[int, int] = models.IntegerField()

    class Meta:
        managed = False
        db_table = f"{settings_value('PREFIX')}cases"
        verbose_name = "case"
        verbose_name_plural = "cases"
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.process} {self.id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("cases change only through the servicewf engine (fire a trigger); "
                        "CaseRecord is read-only")

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("cases are never deleted from the admin: their history is the audit")
