"""``migrate`` with the autodetector ``makemigrations`` uses (Django's check commands.E001
requires the two to match; ``migrate`` uses it to report model changes without migrations)."""

from __future__ import annotations

from django.core.management.commands import migrate

from django_singlestore.autodetector import DesignAutodetector


class Command(migrate.Command):
    autodetector = DesignAutodetector
