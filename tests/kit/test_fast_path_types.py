"""The backfill fast path and verify's pushed-down digests for every field type Django ships.

PostgreSQL → MariaDB, PostgreSQL → SingleStore and MariaDB → SingleStore, each with ``USE_TZ``
True and False (a non-UTC ``TIME_ZONE``): every column is rendered in source SQL (the summary's
``notes`` are empty), every value round-trips (floats to the bit, on their edge values), verify
digests every column in SQL and is clean, and a difference planted in each column is found. A
custom field without a rendering goes through Python alone, and the notes name it.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
import random
import struct
import uuid
from typing import Any

import pytest
from django.db import connections
from django.test.utils import override_settings

from migration_kit.backfill import transfer
from migration_kit.backfill.keyset import Table
from tests.kit.commands import json_result
from tests.kit.kitapp.models import AllFields, Composite, CustomColumn
from tests.kit.rows import TEXTS, keyed_rows, snapshot

pytestmark = [
    pytest.mark.s2,
    pytest.mark.django_db(
        transaction=True, reset_sequences=True, databases=["default", "mysql", "s2"]
    ),
]

PAIRS = [
    pytest.param("default", "mysql", id="pg-maria"),
    pytest.param("default", "s2", id="pg-s2"),
    pytest.param("mysql", "s2", id="maria-s2"),
]
ZONES = [
    pytest.param(True, "Europe/Paris", id="use_tz"),
    pytest.param(False, "America/New_York", id="naive"),
]
FLOATS = [
    0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 2.225073858507201e-308, 1e-300,
    1e308, 1.7976931348623157e308, -1.7976931348623157e308, 0.1 + 0.2, 1 / 3, 0.1, 1e15, 1e16,
    123456789012345678.0, 2.0**53 + 2, 1e-5, 1e-7, -2.5, 100.0, math.pi,
]  # fmt: skip
IPS = ["127.0.0.1", "10.0.0.255", "2001:db8::1", "::ffff:192.0.2.1", "fe80::1ff:fe23:4567:890a"]


def bits(value: float | None) -> Any:
    """A float as its bits (with -0 as 0: MariaDB stores -0.0 as 0); other values unchanged."""
    if not isinstance(value, float):
        return value
    return struct.unpack(">Q", struct.pack(">d", value + 0.0))[0]


def all_fields_rows(n: int, aware: bool) -> list[AllFields]:
    """``n`` rows cycling through every column's edge values; row 0 holds NULLs and defaults."""
    zone = datetime.UTC if aware else None
    rows = [AllFields()]
    for i in range(1, n):
        text = TEXTS[i % len(TEXTS)]
        rows.append(
            AllFields(
                small=[-32768, 32767, 0, -1][i % 4],
                integer=[-(2**31), 2**31 - 1, i][i % 3],
                big=[-(2**63), 2**63 - 1, i * 10**12][i % 3],
                pos_small=[0, 32767][i % 2],
                pos=[0, 2**31 - 1][i % 2],
                pos_big=[0, 2**63 - 1][i % 2],
                amount=decimal.Decimal(f"{(-1) ** i * i * 1234567}.{i:06d}"),
                ratio=FLOATS[i % len(FLOATS)],
                flag=bool(i % 2),
                maybe=[None, True, False][i % 3],
                name=f"{text} ✓ {i}"[:200],
                text=text if i % 5 else None,
                slug=f"slug-{i}_x",
                email=f"user{i}@exämple.org",
                url=f"https://example.org/p?q={i}&r=\u00e9",
                upload=f"up/file {i}.txt",
                path=f"/tmp/dir/{i}.log",
                day=datetime.date(1000, 1, 1) + datetime.timedelta(days=i * 9001),
                clock=datetime.time(i % 24, (i * 7) % 60, (i * 13) % 60, (i * 99991) % 10**6),
                at=datetime.datetime(1971, 3, 28, 1, 30, tzinfo=zone)
                + datetime.timedelta(days=i * 311, seconds=i * 37, microseconds=i * 7),
                span=datetime.timedelta(days=(-1) ** i * i * 1000, microseconds=i * 3),
                uid=uuid.UUID(int=(i * 0x9E3779B97F4A7C15) % 2**128),
                data=[{"b": 1.5, "a": [text, None, True]}, [1e-7, 2**60], "ü", 0, None][i % 5],
                blob=bytes(range(256))[i % 7 :] if i % 4 else b"",
                ip=IPS[i % len(IPS)],
                ipv6="2001:db8::" + format(i, "x"),
                parent_id=i if i % 2 else None,
            )
        )
    return rows


def same(a: dict, b: dict) -> None:
    """Equal snapshots, floats compared by their bits."""
    assert a.keys() == b.keys()
    for pk, row in a.items():
        for name, value in row.items():
            assert bits(value) == bits(b[pk][name]), (pk, name, value, b[pk][name])


def command(name: str, label: str, source: str, target: str, **opts: Any) -> dict:
    code, output = json_result(name, label, source=source, target=target, **opts)
    return {**output["models"][0], "exit": code}


def plant(target: str) -> dict[str, int]:
    """Change one column of one row per column on ``target``; {column: pk}."""
    changes = {
        "small": lambda v: v + 1 if v < 32767 else v - 1,
        "integer": lambda v: v + 1 if v < 2**31 - 1 else v - 1,
        "big": lambda v: v + 1 if v < 2**63 - 1 else v - 1,
        "pos_small": lambda v: v + 1 if v < 32767 else v - 1,
        "pos": lambda v: v + 1 if v < 2**31 - 1 else v - 1,
        "pos_big": lambda v: v + 1 if v < 2**63 - 1 else v - 1,
        "amount": lambda v: v + decimal.Decimal("0.000001"),
        "ratio": lambda v: math.nextafter(v, 0) if v else 1e-300,  # one ulp
        "flag": lambda v: not v,
        "maybe": lambda v: None if v is not None else True,
        "name": lambda v: v + "!",
        "text": lambda v: (v or "") + "é",
        "slug": lambda v: v + "-",
        "email": lambda v: "x" + v,
        "url": lambda v: v + "#",
        "upload": lambda v: str(v) + "2",
        "path": lambda v: v + "2",
        "day": lambda v: v + datetime.timedelta(days=1),
        "clock": lambda v: v.replace(microsecond=(v.microsecond + 1) % 10**6),
        "at": lambda v: v + datetime.timedelta(microseconds=1),
        "span": lambda v: v + datetime.timedelta(microseconds=1),
        "uid": lambda v: uuid.UUID(int=v.int + 1),
        "data": lambda v: {"changed": v},
        "blob": lambda v: bytes(v) + b"\0",
        "ip": lambda v: "192.0.2.99" if v != "192.0.2.99" else "192.0.2.98",
        "ipv6": lambda v: "2001:db8::ffff",
        "parent_id": lambda v: (v or 0) + 1,
    }
    planted = {}
    for pk, (attname, change) in enumerate(changes.items(), start=2):
        row = AllFields.objects.using(target).get(pk=pk)
        AllFields.objects.using(target).filter(pk=pk).update(
            **{attname: change(getattr(row, attname))}
        )
        planted[attname] = pk
    return planted


@pytest.mark.parametrize(("use_tz", "zone"), ZONES)
@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_every_field_type_renders_in_sql_round_trips_and_verifies(
    source: str, target: str, use_tz: bool, zone: str
) -> None:
    with override_settings(USE_TZ=use_tz, TIME_ZONE=zone):
        AllFields.objects.using(source).bulk_create(all_fields_rows(90, aware=use_tz))
        copied = command("s2_backfill", "kitapp.AllFields", source, target, batch_size=40)
        assert copied["exit"] == 0 and copied["rows_copied"] == 90, copied
        assert copied["method"] == "load" and copied["load_fallbacks"] == 0, copied
        assert copied["notes"] == [], copied["notes"]  # no column went through Python
        same(snapshot(AllFields, source), snapshot(AllFields, target))

        verified = command("s2_verify", "kitapp.AllFields", source, target, lag_wait=0)
        assert verified["exit"] == 0 and verified["differences"] == 0, verified
        assert verified["python_columns"] == [] and verified["notes"] == [], verified

        planted = plant(target)
        found = command("s2_verify", "kitapp.AllFields", source, target, lag_wait=0)
        assert found["exit"] == 1, found
        assert found["differences"] == len(planted), found
        missed = set(planted.values()) - {int(pk) for pk in found["sample"]}
        assert len(found["sample"]) < len(planted) or not missed, missed


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_composite_primary_key_on_the_fast_path(source: str, target: str) -> None:
    rows = keyed_rows()[Composite]
    Composite.objects.using(source).bulk_create(rows)
    copied = command("s2_backfill", "kitapp.Composite", source, target, batch_size=7)
    assert copied["rows_copied"] == len(rows) and copied["notes"] == [], copied
    assert snapshot(Composite, source) == snapshot(Composite, target)
    verified = command("s2_verify", "kitapp.Composite", source, target, lag_wait=0)
    assert verified["differences"] == 0 and verified["python_columns"] == [], verified


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_one_custom_column_goes_through_python_and_the_rest_stays_in_sql(
    source: str, target: str
) -> None:
    at = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.UTC)
    CustomColumn.objects.using(source).bulk_create(
        CustomColumn(name=f"n{i} ü", at=at, ratio=i / 7, numbers=[i, -i] if i % 3 else None)
        for i in range(50)
    )
    plan = transfer.column_plan(
        Table(CustomColumn, connections[source], writable=True),
        connections[source],
        connections[target],
    )
    fields = [f.attname for f in CustomColumn._meta.concrete_fields]
    assert [fields[i] for i in plan.python_positions] == ["numbers"]
    assert [fields[i] for i in plan.sql_positions] == ["id", "name", "at", "ratio"]

    copied = command("s2_backfill", "kitapp.CustomColumn", source, target, batch_size=20)
    assert copied["rows_copied"] == 50 and copied["load_fallbacks"] == 0, copied
    [note] = copied["notes"]
    assert "kitapp.CustomColumn.numbers" in note and "CommaList" in note, note
    same(snapshot(CustomColumn, source), snapshot(CustomColumn, target))

    verified = command("s2_verify", "kitapp.CustomColumn", source, target, lag_wait=0)
    assert verified["differences"] == 0 and verified["python_columns"] == ["numbers"], verified
    [note] = verified["notes"]
    assert "kitapp.CustomColumn.numbers" in note, note
    CustomColumn.objects.using(target).filter(pk=5).update(numbers=[5, -6])
    found = command("s2_verify", "kitapp.CustomColumn", source, target, lag_wait=0)
    assert found["differences"] == 1 and found["sample"] == [5], found


def test_float_texts_are_exact_on_random_bit_patterns() -> None:
    """The proof behind rendering floats as text: PostgreSQL's float8 output (extra_float_digits
    > 0) and MariaDB's DOUBLE → CHAR both print a text that parses back to the same double, on
    random bit patterns and every power of two with its neighbours (subnormals included), and
    a PostgreSQL → MariaDB backfill (MariaDB parsing PostgreSQL's text) keeps every bit."""
    rng = random.Random(13)
    values = [struct.unpack(">d", struct.pack(">Q", rng.getrandbits(64)))[0] for _ in range(3000)]
    for e in range(-1074, 1024, 7):
        values += [2.0**e, math.nextafter(2.0**e, 0), math.nextafter(2.0**e, math.inf)]
    values = [v for v in values if math.isfinite(v)] + FLOATS
    AllFields.objects.using("default").bulk_create(AllFields(ratio=v) for v in values)
    copied = command("s2_backfill", "kitapp.AllFields", "default", "mysql")
    assert copied["rows_copied"] == len(values) and copied["load_fallbacks"] == 0, copied
    for alias, text in (("default", "ratio::text"), ("mysql", "CAST(ratio AS CHAR)")):
        with connections[alias].cursor() as cursor:
            if alias == "default":
                cursor.execute(transfer.PG_FLOAT_SETUP)
            cursor.execute(f"SELECT id, {text} FROM kitapp_allfields ORDER BY id")
            printed = cursor.fetchall()
        assert [bits(float(t)) for _, t in printed] == [bits(v) for v in values], alias


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_non_finite_floats_are_refused_by_the_target_and_logged(value: float, tmp_path) -> None:
    """PostgreSQL holds NaN and ±Infinity; MySQL-family DOUBLEs cannot: the row is set aside
    with the target's error, never loaded as 0, and the other rows are copied."""
    AllFields.objects.using("default").bulk_create(
        [AllFields(ratio=1.5), AllFields(ratio=value), AllFields(ratio=-2.0)]
    )
    log = tmp_path / "rejects.jsonl"
    copied = command("s2_backfill", "kitapp.AllFields", "default", "mysql", reject_log=str(log))
    assert copied["rows_copied"] == 2 and copied["rejected"] == 1, copied
    assert sorted(AllFields.objects.using("mysql").values_list("ratio", flat=True)) == [-2.0, 1.5]
    assert '"pk": 2' in log.read_text()


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_json_in_another_text_form_is_not_a_difference(source: str, target: str) -> None:
    """Checksums compare JSON by each side's exact text; a bucket that differs only because
    the target stores the same value in another key order and spacing is settled by the
    canonical text in Python, and a changed value is still found."""
    AllFields.objects.using(source).bulk_create(all_fields_rows(20, aware=True))
    command("s2_backfill", "kitapp.AllFields", source, target)
    with connections[target].cursor() as cursor:
        for pk in (6, 11):  # rows 5 and 10: {"b": 1.5, "a": [text, None, True]}
            value = {"a": [TEXTS[(pk - 1) % len(TEXTS)], None, True], "b": 1.5}
            text = json.dumps(value, separators=(",", ":"))
            cursor.execute("UPDATE kitapp_allfields SET data = %s WHERE id = %s", [text, pk])
    same_value = command("s2_verify", "kitapp.AllFields", source, target, lag_wait=0)
    assert same_value["differences"] == 0 and same_value["python_columns"] == [], same_value
    with connections[target].cursor() as cursor:
        cursor.execute("UPDATE kitapp_allfields SET data = %s WHERE id = 11", ['{"a": 1}'])
    changed = command("s2_verify", "kitapp.AllFields", source, target, lag_wait=0)
    assert changed["differences"] == 1 and changed["sample"] == [11], changed


@pytest.mark.parametrize("source", ["mysql"])
def test_a_latin1_source_column_arrives_as_utf8(source: str) -> None:
    """A MariaDB source hands its lines over as bytes (transfer.column_plan): a latin1 column's
    non-ASCII text still reaches the target as UTF-8, beside a Python-rendered column too."""
    table = CustomColumn._meta.db_table
    with connections[source].cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} MODIFY name VARCHAR(50) CHARACTER SET latin1 NOT NULL")
    try:
        at = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)
        names = [f"é{i} ü\tÿ\\Å\n" for i in range(30)]
        CustomColumn.objects.using(source).bulk_create(
            CustomColumn(name=name, at=at, ratio=i / 3, numbers=[i] if i % 2 else None)
            for i, name in enumerate(names)
        )
        copied = command("s2_backfill", "kitapp.CustomColumn", source, "s2", batch_size=8)
        assert copied["rows_copied"] == 30 and copied["load_fallbacks"] == 0, copied
        assert sorted(CustomColumn.objects.using("s2").values_list("name", flat=True)) == sorted(
            names
        )
        same(snapshot(CustomColumn, source), snapshot(CustomColumn, "s2"))
    finally:
        with connections[source].cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table} MODIFY name VARCHAR(50) NOT NULL")
