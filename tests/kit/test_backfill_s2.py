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


def _seed_text_rows(alias: str) -> None:
    """1,200 BenchRow rows on ``alias`` whose notes hold every hard text (tabs, newlines,
    backslashes, CR, non-ASCII), some long: what a joined batch must carry intact."""
    import datetime

    from tests.kit.kitapp.models import BenchRow
    from tests.kit.rows import TEXTS

    at = datetime.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC)
    BenchRow.objects.using(alias).bulk_create(
        BenchRow(account=i, kind=f"k{i % 7} ü", amount=i / 4, at=at, done=bool(i % 2),
                 note=TEXTS[i % len(TEXTS)] + (" ✓ 🚀" * (i % 3)))
        for i in range(1, 1201)
    )  # fmt: skip


def test_mysql_source_joins_batches_within_the_group_concat_bound(monkeypatch) -> None:
    """A MariaDB source joins each batch with GROUP_CONCAT; a batch longer than the bound
    (group_concat_max_len, which MariaDB cuts at with only a warning) is read again row by row
    and whole, later batches are sized to fit, and lines longer than any useful batch turn the
    join off. Every row arrives intact either way: tabs, newlines, backslashes, CR, non-ASCII."""
    from django.db import connections

    from migration_kit.backfill import runner
    from migration_kit.backfill.load import Writer
    from migration_kit.models import BackfillCheckpoint
    from tests.kit.kitapp.models import BenchRow

    _seed_text_rows("mysql")
    monkeypatch.setattr(runner, "CONCAT_BYTES", 20_000)  # about 250 of these lines
    writer = Writer(BenchRow, "s2")
    try:
        checkpoint = BackfillCheckpoint(
            model_label="kitapp.BenchRow", source_alias="mysql", target_alias="s2"
        )
        options = runner.Options(batch_size=500)
        copier = runner.RangeCopier(BenchRow, checkpoint, "mysql", writer, options)
        assert copier.concat
        first = copier.read(None, False)  # 500 lines do not fit: read row by row, all of them
        assert first.text is None and first.count == len(first.raw) == 500
        assert copier.concat_bound == 20_000
        second = copier.read(first.newest, False)  # sized to fit, joined by MariaDB
        assert second.text is not None and 100 <= second.count < 250, second.count
        assert len(second.text) < 20_000
        lines = second.text.split(b"\n")
        assert len(lines) == second.count and lines[0].startswith(b"501\t")
        assert second.newest == (500 + second.count,)
        with connections["mysql"].cursor() as cursor:
            cursor.execute(
                "SELECT GROUP_CONCAT(CAST(id AS CHAR) ORDER BY id SEPARATOR ',') FROM "
                "kitapp_benchrow WHERE id > 500 AND id <= %s",
                [500 + second.count],
            )
            (ids,) = cursor.fetchone()
        assert [line.split(b"\t")[0].decode() for line in lines] == ids.split(",")
    finally:
        writer.close()

    copied = command("s2_backfill", "kitapp.BenchRow", "mysql", batch_size=500)
    assert copied["exit"] == 0 and copied["rows_copied"] == 1200, copied
    assert copied["load_fallbacks"] == 0 and copied["notes"] == [], copied
    assert snapshot(BenchRow, "mysql") == snapshot(BenchRow, "s2")

    # Lines so long that fewer than MIN_BATCH fit the bound: the join is turned off.
    BenchRow.objects.using("s2").all().delete()
    BenchRow.objects.using("mysql").filter(pk__lte=600).update(note="\t\\\n" + "é" * 300)
    copied = command("s2_backfill", "kitapp.BenchRow", "mysql", batch_size=500, restart=True)
    assert copied["exit"] == 0 and copied["rows_copied"] == 1200, copied
    assert copied["load_fallbacks"] == 0, copied
    assert snapshot(BenchRow, "mysql") == snapshot(BenchRow, "s2")


def test_postgresql_joined_batches_bounded_by_bytes(monkeypatch) -> None:
    """An adaptive PostgreSQL batch joined by string_agg holds no more rows than fit
    JOINED_BYTES at the bytes per line seen so far (its row bound is MAX_JOINED_BATCH, not
    MAX_BATCH); an explicit --batch-size is taken as given. Rows arrive intact either way, and
    the summary's source_rows (counted beside the copy) is the source's count."""
    from django.db import connections

    from migration_kit.backfill import runner
    from migration_kit.backfill.load import Writer
    from migration_kit.models import BackfillCheckpoint
    from tests.kit.kitapp.models import BenchRow

    _seed_text_rows("default")
    monkeypatch.setattr(runner, "JOINED_BYTES", 20_000)
    assert runner._next_batch(90_000, 0.1, 1.0, runner.MAX_JOINED_BATCH) == 180_000
    assert runner._next_batch(90_000, 0.1, 1.0) == runner.MAX_BATCH
    writer = Writer(BenchRow, "s2")
    try:
        checkpoint = BackfillCheckpoint(
            model_label="kitapp.BenchRow", source_alias="default", target_alias="s2"
        )
        copier = runner.RangeCopier(BenchRow, checkpoint, "default", writer, runner.Options())
        assert copier.joined
        copier.size = 200
        first = copier.read(None, False)  # no line seen yet: the batch size alone
        assert first.count == 200 and copier.row_bytes == (len(first.text) + 1) / 200
        copier.size = 1000
        fits = int(20_000 / copier.row_bytes)
        second = copier.read(first.newest, False)  # what fits 20,000 bytes
        assert second.count == fits < 1000, (second.count, fits)
        lines = second.text.split(b"\n")
        assert len(lines) == second.count and lines[0].startswith(b"201\t")
        assert [int(line.split(b"\t")[0]) for line in lines] == list(range(201, 201 + fits))
        assert second.newest == (200 + fits,)
        fixed = runner.RangeCopier(
            BenchRow, checkpoint, "default", writer, runner.Options(batch_size=1000)
        )
        fixed.read(None, False)
        assert fixed.read((200,), False).count == 1000  # explicit size: not bounded by bytes
    finally:
        writer.close()
        connections.close_all()

    copied = command("s2_backfill", "kitapp.BenchRow", "default")
    assert copied["exit"] == 0 and copied["rows_copied"] == copied["source_rows"] == 1200
    assert copied["load_fallbacks"] == 0 and copied["notes"] == [], copied
    assert snapshot(BenchRow, "default") == snapshot(BenchRow, "s2")
