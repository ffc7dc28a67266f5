"""Helpers for the dual-write tests: put models in a phase, compare both sides, drain."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from django.apps import apps
from django.db import models
from django.test import override_settings

from migration_kit.dualwrite import triggers
from migration_kit.dualwrite.drain import drain_all
from migration_kit.dualwrite.relay import relay as kit_relay
from migration_kit.models import OutboxEntry
from s2router.phases import write_aliases
from tests.kit.syncapp.models import Author
from tests.kit.syncapp.scenarios import Scenario

#: Every table the sync tests write: syncapp's models (M2M through tables included) and kitapp's.
SYNC_APPS = ("syncapp", "kitapp")


@contextmanager
def mirrored(
    source: str,
    target: str,
    *,
    phase: str = "dual_write",
    relay: str = "off",
    apps_: tuple[str, ...] = SYNC_APPS,
) -> Iterator[None]:
    """Make ``apps_`` migrate from ``source`` to SingleStore alias ``target``, in ``phase``."""
    router = {
        "SINGLESTORE": target,
        "MIGRATING": {app: {"source": source, "phase": phase} for app in apps_},
        "PHASE_CACHE_SECONDS": 0,
    }
    with override_settings(S2ROUTER=router, MIGRATION_KIT={"RELAY": relay}):
        try:
            yield
        finally:
            kit_relay.stop()


def synced_models() -> list[type[models.Model]]:
    """Concrete models of ``SYNC_APPS`` plus their auto-created through models."""
    found = []
    for app in SYNC_APPS:
        for model in apps.get_app_config(app).get_models(include_auto_created=True):
            if not model._meta.proxy:
                found.append(model)
    return found


def _comparable(value: Any) -> Any:
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, float) and value == 0.0:
        return 0.0  # MariaDB stores -0.0 as 0
    return value


def table(model: type[models.Model], alias: str) -> dict[Any, tuple[Any, ...]]:
    """All rows of ``model``'s own table on ``alias``: ``{pk: values}``."""
    fields = [f.attname for f in model._meta.local_concrete_fields]
    pk_index = [fields.index(f.attname) for f in model._meta.pk_fields]
    rows = {}
    for values in model._base_manager.using(alias).values_list(*fields):
        values = tuple(_comparable(v) for v in values)
        rows[tuple(values[i] for i in pk_index)] = values
    return rows


def differences(source: str, target: str) -> dict[str, Any]:
    """Per model label, rows that differ between ``source`` and ``target`` (empty: equal)."""
    found = {}
    for model in synced_models():
        left, right = table(model, source), table(model, target)
        diff = {
            k: (left.get(k), right.get(k))
            for k in left.keys() | right.keys()
            if not _same_row(left.get(k), right.get(k))
        }
        if diff:
            found[model._meta.label] = diff
    return found


def _same_row(a: tuple | None, b: tuple | None) -> bool:
    if a is None or b is None:
        return a is b
    for x, y in zip(a, b, strict=True):
        if isinstance(x, float) and isinstance(y, float):
            if not math.isclose(x, y, rel_tol=1e-15):
                return False
        elif x != y:
            return False
    return True


def pending(alias: str) -> int:
    """Outbox entries waiting on ``alias``."""
    return OutboxEntry.objects.using(alias).count()


def drain(*aliases: str) -> None:
    """Apply every due outbox entry on ``aliases``; fail the test if any apply failed."""
    result = drain_all(list(aliases))
    assert not result.errors, result.errors


def run_scenario(scenario: Scenario, source: str, target: str, phase: str) -> None:
    """Mirror the scenario's setup, then check its write path is captured and converges."""
    with mirrored(source, target, phase=phase):
        primary, mirror = write_aliases(Author)
        steps = scenario(primary)
        next(steps)
        drain(primary)
        assert differences(primary, mirror) == {}
        next(steps, None)
        assert pending(primary) > 0, "the write path left no outbox entry"
        assert differences(primary, mirror), "the mirror changed before the outbox was drained"
        drain(primary)
        assert pending(primary) == 0
        assert differences(primary, mirror) == {}


@contextmanager
def capture_triggers(source: str, mirror: str) -> Iterator[list[str]]:
    """Install the triggers for every capturable synced table on ``source``; remove them after.
    Yields the labels left to the wrappers."""
    left = []
    for model in synced_models():
        try:
            triggers.install(model, source, mirror)
        except triggers.NotCapturable:
            left.append(model._meta.label)
    try:
        yield left
    finally:
        for model in synced_models():
            with suppress(triggers.NotCapturable):
                triggers.remove(model, source)
