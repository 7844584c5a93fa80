"""The Django app of servicewf (``INSTALLED_APPS += ["servicewf.contrib.django"]``)."""

from __future__ import annotations

from django.apps import AppConfig


class ServicewfConfig(AppConfig):
    """Migrations for the store's tables, the cases admin, ``manage.py servicewf_worker``."""

    name = "servicewf.contrib.django"
    label = "servicewf"
    verbose_name = "Workflow cases"
    default_auto_field = "django.db.models.BigAutoField"
