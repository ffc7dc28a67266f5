"""``makemigrations`` whose new models are created with their SingleStore table design."""

from __future__ import annotations

from django.core.management.commands import makemigrations

from django_singlestore.autodetector import DesignAutodetector


class Command(makemigrations.Command):
    help = (
        makemigrations.Command.help
        + " TableStorage/ShardKey/SortKey entries of a new model stay in its CreateModel."
    )
    autodetector = DesignAutodetector
