"""``pip install django-s2kit`` without the ``celery`` extra: the tasks module names it."""

from __future__ import annotations

from pathlib import Path

from tests.quickstart.test_install import KIT, S2, bare_python, failure, run

__all__ = ["bare_python"]  # the fixture, shared with the install tests


def test_tasks_without_celery_name_the_extra(bare_python: Path) -> None:
    assert run(bare_python, "import celery").returncode != 0, "celery is in the bare venv"
    message = failure(bare_python, {"default": S2}, KIT, "import migration_kit.tasks")
    assert message.startswith("ImproperlyConfigured migration_kit.tasks (Celery backfill")
    assert "pip install 'django-s2kit[celery]'" in message
