"""The Celery app of the kit's Celery tests, as a project's ``proj/celery.py`` holds it
(Celery's "First steps with Django"): Django's settings, the kit's tasks by autodiscovery.

The broker is the Redis that ``scripts/services.sh`` starts; each test session gets its own
queue (``S2KIT_CELERY_QUEUE``), so sessions running side by side never take each other's tasks.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.kit.subprocess_settings")

app = Celery("s2kit_tests")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.broker_url = os.environ.get("S2KIT_CELERY_BROKER", "redis://127.0.0.1:6379/0")
app.conf.task_default_queue = os.environ.get("S2KIT_CELERY_QUEUE", "celery")
# Long tasks with acks_late: a worker reserves only the task it runs (Celery's advice), so a
# killed worker strands no reserved-but-unstarted task.
app.conf.worker_prefetch_multiplier = 1
app.conf.task_ignore_result = True
app.autodiscover_tasks(["migration_kit"])
