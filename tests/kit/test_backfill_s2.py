"""Backfill and verify into SingleStore (the emulator, or S2_TEST_URL): PG → s2, MariaDB → s2."""

from __future__ import annotations

import pytest

from tests.kit.commands import json_result
from tests.kit.kitapp.models import Composite, Everything, StrKeyed, UuidKeyed
from tests.kit.rows import everything_rows, keyed_rows, snapshot

pytestmark = [
    pytest.mark.s2,
    pytest.mark.django_db(
        transaction=True, reset_sequences=True, databases=["default", "mysql", "s2"]
    ),
]


def command(name: str, label: str, source: str, **opts) -> dict:
    code, output = json_result(name, label, source=source, target="s2", **opts)
    return {**output["models"][0], "exit": code}


@pytest.mark.parametrize("source", ["default", "mysql"])
@pytest.mark.parametrize("method", ["load", "insert"])
def test_every_field_type_into_singlestore(source: str, method: str) -> None:
    Everything.objects.using(source).bulk_create(everything_rows(90))
    copied = command("s2_backfill", "kitapp.Everything", source, method=method, batch_size=40)
    assert copied["exit"] == 0 and copied["rows_copied"] == 90, copied
    assert copied["method"] == method and copied["load_fallbacks"] == 0
    assert snapshot(Everything, source) == snapshot(Everything, "s2")
    verified = command("s2_verify", "kitapp.Everything", source, lag_wait=0)
    assert verified["exit"] == 0 and verified["differences"] == 0, verified


@pytest.mark.parametrize("source", ["default", "mysql"])
@pytest.mark.parametrize("model", [UuidKeyed, StrKeyed, Composite])
def test_every_key_type_into_singlestore(source: str, model) -> None:
    model.objects.using(source).bulk_create(keyed_rows()[model])
    label = model._meta.label
    copied = command("s2_backfill", label, source, batch_size=10, workers=2)
    assert copied["exit"] == 0 and copied["finished"], copied
    assert snapshot(model, source) == snapshot(model, "s2")
    assert command("s2_verify", label, source, lag_wait=0)["differences"] == 0
    victim = model.objects.using("s2").order_by("pk")[3]
    model.objects.using("s2").filter(pk=victim.pk).delete()
    found = command("s2_verify", label, source, lag_wait=0, repair=True)
    assert found["differences"] == 1 and found["repaired"] == 1 and found["exit"] == 0
