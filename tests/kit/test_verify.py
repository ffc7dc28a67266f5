"""s2_verify on real databases: canonical digests agree, differences are found and repaired."""

from __future__ import annotations

import datetime
import hashlib
import io
import math
import random
import struct

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connections
from django.test.utils import override_settings

from migration_kit import conf
from migration_kit.backfill.keyset import Table
from migration_kit.models import OutboxEntry, VerifyRun
from migration_kit.verify import digest
from migration_kit.verify.compare import Comparer
from tests.kit.commands import json_result
from tests.kit.kitapp.models import BenchRow, Composite, Everything, StrKeyed, UuidKeyed
from tests.kit.rows import everything_rows, keyed_rows
from tests.kit.syncapp.testing import mirrored

pytestmark = pytest.mark.django_db(
    transaction=True, reset_sequences=True, databases=["default", "mysql"]
)


def copy(label: str, source: str = "default", target: str = "mysql") -> None:
    call_command(
        "s2_backfill",
        label,
        source=source,
        target=target,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )


def verify(label: str, *, source: str = "default", target: str = "mysql", **opts) -> dict:
    opts.setdefault("lag_wait", 0)
    code, output = json_result("s2_verify", label, source=source, target=target, **opts)
    return {**(output["models"][0] if output else {}), "exit": code}


@pytest.mark.parametrize("alias", ["default", "mysql"])
def test_sql_digest_equals_python_digest_for_every_pushable_type(alias: str) -> None:
    Everything.objects.using(alias).bulk_create(everything_rows(40))
    conn = connections[alias]
    table = Table(Everything, conn)
    checked = 0
    for fld, col in zip(table.fields, table.columns, strict=True):
        text = digest.sql_text(fld, col, conn)
        if text is None:
            assert digest.internal_type(fld) == "JSONField"
            continue
        pre = digest.prefixed(fld)
        md5 = digest.sql_md5([digest.sql_wrap(text, pre, conn.vendor)], conn.vendor)
        with conn.cursor() as cursor:
            cursor.execute(f"SELECT {md5} FROM {table.name} ORDER BY {table.order_by}", [])
            in_sql = [r[0] for r in cursor.fetchall()]
        canon = digest.python_text(fld)
        values = Everything.objects.using(alias).order_by("pk").values_list(fld.attname, flat=True)
        in_python = [
            hashlib.md5(digest.wrap(None if v is None else canon(v), pre).encode()).hexdigest()
            for v in values
        ]
        assert in_sql == in_python, fld.name
        checked += 1
    assert checked == len(table.fields) - 1


def float_values() -> list[float]:
    """Random bit patterns, every power of two with its neighbours (where LOG2 guesses the
    exponent one off), subnormals, and values of every magnitude around and inside the range
    written as shortest decimals, with their neighbours at both ends and every power of ten."""
    rng = random.Random(7)
    values = [struct.unpack(">d", struct.pack(">Q", rng.getrandbits(64)))[0] for _ in range(2000)]
    for e in range(-1074, 1024):
        values += [2.0**e, -math.nextafter(2.0**e, 0), math.nextafter(2.0**e, math.inf)]
    values += [rng.choice((1, -1)) * 10 ** rng.uniform(-5, 16) for _ in range(3000)]
    for edge in [10.0**k for k in range(-6, 18)] + [1.5e-4, 0.1, 1 / 3, 123.0, 999999999999999.9]:
        values += [edge, math.nextafter(edge, 0), math.nextafter(edge, math.inf), -edge]
    return [v for v in values if math.isfinite(v)] + [0.0, -0.0, 5e-324, 1.7976931348623157e308]


def assert_sql_float_text_is_pythons(alias: str) -> None:
    """The float digest computed by ``alias``'s server equals Python's on :func:`float_values`."""
    values = float_values()
    Everything.objects.using(alias).bulk_create(Everything(ratio=v) for v in values)
    conn = connections[alias]
    table = Table(Everything, conn)
    text = digest.sql_text(Everything._meta.get_field("ratio"), "ratio", conn)
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT {text} FROM {table.name} ORDER BY {table.order_by}")
        in_sql = [r[0] for r in cursor.fetchall()]
    canon = digest.python_text(Everything._meta.get_field("ratio"))
    assert in_sql == [canon(v) for v in values]


@pytest.mark.parametrize("alias", ["default", "mysql"])
def test_sql_float_text_equals_pythons_on_edge_values(alias: str) -> None:
    assert_sql_float_text_is_pythons(alias)


@pytest.mark.parametrize("alias", ["default", "mysql"])
def test_sql_date_and_time_texts_equal_pythons_on_edge_values(alias: str) -> None:
    """PostgreSQL's ISO output, padded to six fractional digits, is Python's text: every count
    of trailing zeros in the fraction, none, early and late years (PostgreSQL prints years below
    1000 with four digits), the day's ends; through a Side's connection (DateStyle set there)."""
    utc = datetime.UTC
    stamps = [
        datetime.datetime(2024, 5, 6, 7, 8, 9, 10**k % 1_000_000, tzinfo=utc) for k in range(7)
    ]
    stamps += [datetime.datetime(2024, 5, 6, 7, 8, 9, m, tzinfo=utc) for m in (1, 999_999, 120_000)]
    stamps += [
        datetime.datetime(1000, 1, 1, tzinfo=utc),
        datetime.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=utc),
    ]
    if alias == "default":
        stamps += [datetime.datetime(1, 1, 2, tzinfo=utc), datetime.datetime(99, 3, 4, tzinfo=utc)]
    rows = [
        Everything(at=at, day=at.date(), clock=at.time().replace(hour=at.microsecond % 24))
        for at in stamps
    ]
    Everything.objects.using(alias).bulk_create(rows)
    comparer = Comparer(Everything, alias, "mysql" if alias == "default" else "default")
    try:
        side = comparer.source
        for name in ("at", "day", "clock"):
            fld = Everything._meta.get_field(name)
            text = digest.sql_text(fld, fld.column, side.connection)
            text = f"CONCAT({text})" if alias == "mysql" else text  # as a string, as in the row
            in_sql = [
                r[0]
                for r in side._query(
                    f"SELECT {text} FROM {side.table.name} ORDER BY {side.table.order_by}", []
                )
            ]
            canon = digest.python_text(fld)
            values = Everything.objects.using(alias).order_by("pk").values_list(name, flat=True)
            assert in_sql == [canon(v) for v in values], name
    finally:
        comparer.close()


def test_postgresql_chunk_checksums_plan_no_parallel_workers() -> None:
    """A chunk checksum on a Side's PostgreSQL connection runs in its backend alone, even where
    the planner is told workers cost nothing: chunks already run ``streams`` at a time, and
    workers per query only add CPU and take the other side's cores."""
    BenchRow.objects.using("default").bulk_create(
        BenchRow(
            account=i,
            kind="k",
            amount="1.00",
            at=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
        )
        for i in range(200)
    )
    comparer = Comparer(BenchRow, "default", "mysql")
    try:
        side = comparer.source
        with side.connection.cursor() as cursor:
            for name in (
                "parallel_setup_cost",
                "parallel_tuple_cost",
                "min_parallel_table_scan_size",
            ):
                cursor.execute(f"SET {name} TO 0")
        where, params = side.table.between(None, None)
        hashed = digest.sql_hash_sum(side.md5, "postgresql")
        plan = side._query(
            f"EXPLAIN SELECT COUNT(*), {hashed} FROM {side.table.name} WHERE {where}", params
        )
    finally:
        comparer.close()
    assert not any("Gather" in line for (line,) in plan), plan


def test_clean_after_backfill_for_every_model_both_directions() -> None:
    Everything.objects.using("default").bulk_create(everything_rows(150))
    for model, rows in keyed_rows().items():
        model.objects.using("default").bulk_create(rows)
    for label in ("Everything", "UuidKeyed", "StrKeyed", "Composite"):
        copy(f"kitapp.{label}")
        result = verify(f"kitapp.{label}", chunk_rows=16)
        assert result["exit"] == 0 and result["differences"] == 0, result
        assert result["source_rows"] == result["target_rows"] > 0
        back = verify(f"kitapp.{label}", source="mysql", target="default")
        assert back["exit"] == 0, back
    assert VerifyRun.objects.filter(differences=0).count() == 8
    assert all(run.clean for run in VerifyRun.objects.all())


def test_every_kind_of_difference_is_found_and_repaired() -> None:
    Everything.objects.using("default").bulk_create(everything_rows(300))
    copy("kitapp.Everything")
    mysql = Everything.objects.using("mysql")
    changes = {
        3: {"text": ""},  # NULL vs empty string, both ways
        9: {"text": None},
        20: {"amount": "7.0001"},
        33: {"ratio": 0.30000000000000004},
        41: {"data": {"a": 1}},
        57: {"at": None},
        88: {"blob": b"\x00"},
        120: {"flag": True, "maybe": None},
        150: {"uid": None},
        222: {"clock": "01:02:03"},
    }
    for pk, values in changes.items():
        assert mysql.filter(pk=pk).update(**values) == 1
    mysql.filter(pk=250).delete()
    extra = everything_rows(2)[1]
    extra.pk = 5000
    extra.save(using="mysql")
    result = verify("kitapp.Everything", chunk_rows=64)
    expected = sorted([*changes, 250, 5000])
    assert result["exit"] == 1
    assert sorted(result["sample"]) == expected and result["differences"] == len(expected)
    repaired = verify("kitapp.Everything", repair=True)
    assert repaired["repaired"] == len(expected) and repaired["exit"] == 0
    assert verify("kitapp.Everything")["differences"] == 0
    assert not Everything.objects.using("mysql").filter(pk=5000).exists()


def test_texts_that_a_loose_encoding_would_confuse_are_told_apart() -> None:
    """NULL, "", "N" and "NULL"; a separator moving between two adjacent texts; floats either
    side of the shortest-decimal range and one ulp apart: all differences. -0.0 and 0.0 are
    the same number (Django and Python compare them equal), so not a difference."""
    rows = everything_rows(40)
    for row in rows:
        row.name, row.text, row.ratio = "plain", "text", 1.0
    pairs = {  # pk: (source values, target values)
        1: ({"text": None}, {"text": ""}),
        2: ({"text": None}, {"text": "N"}),
        3: ({"text": "NULL"}, {"text": None}),
        4: ({"text": ""}, {"text": "N"}),
        5: ({"name": "a|b", "text": "c"}, {"name": "a", "text": "b|c"}),
        6: ({"name": "1|x", "text": None}, {"name": "1", "text": "x"}),
        7: ({"name": "", "text": "2|ab"}, {"name": "2|ab", "text": ""}),
        8: ({"name": "N", "text": None}, {"name": "N", "text": "N"}),
        9: ({"ratio": 1e-4}, {"ratio": math.nextafter(1e-4, 0)}),
        10: ({"ratio": 1e15}, {"ratio": math.nextafter(1e15, 0)}),
        11: ({"ratio": 0.1}, {"ratio": math.nextafter(0.1, 1)}),
        12: ({"ratio": 123.0}, {"ratio": None}),
        13: ({"ratio": 5e-324}, {"ratio": 0.0}),
    }
    same = {20: ({"ratio": 0.0}, {"ratio": -0.0}), 21: ({"ratio": -0.0}, {"ratio": 0.0})}
    for pk, (values, _) in {**pairs, **same}.items():
        for name, value in values.items():
            setattr(rows[pk - 1], name, value)
    Everything.objects.using("default").bulk_create(rows)
    copy("kitapp.Everything")
    for pk, (_, values) in {**pairs, **same}.items():
        assert Everything.objects.using("mysql").filter(pk=pk).update(**values) == 1
    for source, target in (("default", "mysql"), ("mysql", "default")):
        result = verify("kitapp.Everything", source=source, target=target, chunk_rows=8)
        assert result["python_columns"] == [] and result["notes"] == [], result
        assert sorted(result["sample"]) == sorted(pairs), (source, result)


def test_a_bare_text_ending_the_chunk_checksum_is_told_apart() -> None:
    """Without a JSON column, the chunk checksum's row text ends with the last free-form text,
    alone (no length): a ``|`` moving between it and the text before it, or ``N`` and ``""``,
    still differ, both directions; equal rows stay equal."""
    at = datetime.datetime(2024, 1, 2, 3, 4, 5, 600, tzinfo=datetime.UTC)
    pairs = {  # pk: ((kind, note) on the source, (kind, note) on the target)
        1: (("a|b", "c"), ("a", "b|c")),
        2: (("", "2|ab"), ("2|ab", "")),
        3: (("N", ""), ("N", "N")),
        4: (("x", ""), ("x|", "")),
        5: (("1", "|"), ("1|", "")),
    }
    rows = [
        BenchRow(pk=pk, account=1, kind="k", amount="1.00", at=at, note="n") for pk in range(1, 31)
    ]
    for pk, (values, _) in pairs.items():
        rows[pk - 1].kind, rows[pk - 1].note = values
    BenchRow.objects.using("default").bulk_create(rows)
    copy("kitapp.BenchRow")
    for pk, (_, (kind, note)) in pairs.items():
        assert BenchRow.objects.using("mysql").filter(pk=pk).update(kind=kind, note=note) == 1
    comparer = Comparer(BenchRow, "default", "mysql")
    try:
        side = comparer.source
        assert not side.python_positions and side.md5.endswith('"note"::text))'), side.md5
    finally:
        comparer.close()
    for source, target in (("default", "mysql"), ("mysql", "default")):
        result = verify("kitapp.BenchRow", source=source, target=target, chunk_rows=8)
        assert result["python_columns"] == [] and result["notes"] == [], result
        assert sorted(result["sample"]) == sorted(pairs), (source, result)


def test_during_cutover_repair_makes_the_source_equal_to_singlestore() -> None:
    """SingleStore is the primary in cutover: a stray write on the source is the difference,
    and repairing must not copy it over the primary."""
    Everything.objects.using("default").bulk_create(everything_rows(20))
    copy("kitapp.Everything")
    Everything.objects.using("default").filter(pk=5).update(name="stray on the source")
    Everything.objects.using("mysql").filter(pk=6).update(name="written on the primary")
    with mirrored("default", "mysql", phase="cutover"):
        repaired = verify("kitapp.Everything", repair=True)
    assert repaired["repaired"] == 2
    names = dict(Everything.objects.using("default").values_list("pk", "name"))
    assert names[6] == "written on the primary"
    assert names[5] == Everything.objects.using("mysql").get(pk=5).name != "stray on the source"


@pytest.mark.parametrize("streams", [1, 3])
@pytest.mark.parametrize("model", [UuidKeyed, StrKeyed, Composite])
def test_bisection_finds_scattered_differences_for_every_key_type(model, streams: int) -> None:
    """Also with several chunks in flight per side: boundaries walk on while they are checked."""
    rows = keyed_rows()[model]
    model.objects.using("default").bulk_create(rows)
    copy(model._meta.label)
    targets = rows[::11]
    for row in targets:
        model.objects.using("mysql").filter(pk=row.pk).delete()
    comparer = Comparer(
        model, "default", "mysql", chunk_rows=20, fanout=2, leaf_rows=2, buckets=4, streams=streams
    )
    try:
        found = comparer.compare()
    finally:
        comparer.close()
    table = Table(model, connections["default"])
    assert sorted(found.differing, key=repr) == sorted(
        (table.to_key(r.pk) for r in targets), key=repr
    )
    assert found.chunks > 1


@pytest.mark.parametrize("streams", [1, 2, 5])
def test_integer_key_chunks_cover_gaps_and_both_ends(streams: int) -> None:
    """Integer keys are chunked by arithmetic over sparse and dense stretches: every row is
    counted once, and rows before the first, between and after the last source key are found,
    whether one chunk is in flight per side or several (each on its own connection)."""
    rows = everything_rows(120)
    for i, row in enumerate(rows):
        row.pk = [5 + i, 40_000 + i * 997, 9_000_000_000 + i][i % 3]
    Everything.objects.using("default").bulk_create(rows)
    copy("kitapp.Everything")
    mysql = Everything.objects.using("mysql")
    extra = [everything_rows(2)[1] for _ in range(3)]
    for row, pk in zip(extra, (1, 500_000, 9_999_999_999), strict=True):
        row.pk = pk
        row.save(using="mysql")
    changed = [rows[7].pk, rows[62].pk, rows[119].pk]
    mysql.filter(pk__in=changed).update(name="changed on the target")
    comparer = Comparer(Everything, "default", "mysql", chunk_rows=8, streams=streams)
    try:
        found = comparer.compare()
        assert len({id(s.connection) for s in comparer._streams[1].sides}) == streams
    finally:
        comparer.close()
    assert (found.source_rows, found.target_rows) == (120, 123)
    assert sorted(k for (k,) in found.differing) == sorted([*changed, 1, 500_000, 9_999_999_999])
    assert found.chunks > 120 // 8


@pytest.mark.parametrize("alias", ["default", "mysql"])
@pytest.mark.parametrize("model", [Everything, UuidKeyed, StrKeyed, Composite])
def test_sql_bucket_equals_python_bucket(model, alias: str) -> None:
    rows = everything_rows(50) if model is Everything else keyed_rows()[model]
    model.objects.using(alias).bulk_create(rows)
    comparer = Comparer(model, alias, "mysql" if alias == "default" else "default", buckets=16)
    side = comparer.source
    try:
        in_sql = dict(
            (side.key(r[:-1]), r[-1])
            for r in side._query(f"SELECT {side.keys}, {side.bucket} FROM {side.table.name}", [])
        )
        hashes = side._python_hashes("1 = 1", [], [side.table.pk_positions[0]])
        in_python = {key: b for b, key, _ in hashes}
    finally:
        comparer.close()
    assert in_sql == in_python and len(set(in_sql.values())) > 1


def test_keys_still_in_the_outbox_are_lagging_not_differences() -> None:
    Everything.objects.using("default").bulk_create(everything_rows(30))
    copy("kitapp.Everything")
    Everything.objects.using("mysql").filter(pk__in=[4, 5]).update(name="stale")
    OutboxEntry.objects.using("default").create(
        model_label="kitapp.Everything", object_pk=4, source_alias="default", target_alias="mysql"
    )
    result = verify("kitapp.Everything", lag_wait=0.3)
    assert result["lagging"] == [4] and result["sample"] == [5] and result["exit"] == 1


def test_database_error_records_the_run_and_exits_2() -> None:
    with connections["mysql"].cursor() as cursor:
        cursor.execute("DROP TABLE kitapp_composite")
    try:
        result = verify("kitapp.Composite")
        assert result["exit"] == 2 and "kitapp_composite" in result["error"]
        run = VerifyRun.objects.get()
        assert run.differences is None and not run.clean and run.error
    finally:
        with connections["mysql"].schema_editor() as editor:
            editor.create_model(Composite)


def test_usage_errors_exit_2() -> None:
    assert verify("kitapp.StrKeyedChild")["exit"] == 2
    assert verify("kitapp.Nope")["exit"] == 2
    assert verify("kitapp.Everything", target="nowhere")["exit"] == 2
    assert verify("kitapp.Everything", chunk_rows=1)["exit"] == 2
    assert verify("kitapp.Everything", streams=0)["exit"] == 2
    assert not VerifyRun.objects.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [(0, "from 1 to 64"), (65, "from 1 to 64"), (2.0, "whole number"), (True, "whole number")],
)
def test_bad_verify_streams_are_a_system_check_error(value, message: str) -> None:
    with override_settings(MIGRATION_KIT={"VERIFY_STREAMS": value}):
        found = conf.check_settings()
        with pytest.raises(ImproperlyConfigured, match=r"VERIFY_STREAMS.*migration_kit\.E001"):
            conf.get("VERIFY_STREAMS")
    assert [m.id for m in found] == ["migration_kit.E001"] and message in found[0].msg
    assert "in flight on each side" in found[0].hint
    with override_settings(MIGRATION_KIT={"VERIFY_STREAMS": 4}):
        assert conf.get("VERIFY_STREAMS") == 4
    assert conf.get("VERIFY_STREAMS") == 2


def test_streams_setting_and_flag_reach_the_comparer(monkeypatch) -> None:
    """The flag overrides the setting; the setting overrides the default (2)."""
    Everything.objects.using("default").bulk_create(everything_rows(30))
    copy("kitapp.Everything")
    seen: list[int] = []
    real = Comparer.__init__

    def spy(self, *args, **kwargs) -> None:
        seen.append(kwargs["streams"])
        real(self, *args, **kwargs)

    monkeypatch.setattr(Comparer, "__init__", spy)
    assert verify("kitapp.Everything", chunk_rows=4)["differences"] == 0
    with override_settings(MIGRATION_KIT={"VERIFY_STREAMS": 3}):
        assert verify("kitapp.Everything", chunk_rows=4)["differences"] == 0
        assert verify("kitapp.Everything", chunk_rows=4, streams=1)["differences"] == 0
    assert seen == [2, 3, 1]
