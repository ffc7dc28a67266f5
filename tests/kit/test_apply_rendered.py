"""``apply_keys`` onto a MySQL-family target: the source renders the rows as SQL literals.

The relay, ``s2_sync`` and ``s2_verify --repair`` all apply through ``apply_keys``. Onto
SingleStore (the emulator here), MySQL or MariaDB, the source's SELECT renders each column it
can as the target's literal and only the others (floats, and a native UUID going to a
``char(32)`` column) pass through Python. The mirror must then hold what the all-Python path
would have written: every awkward value, NULLs, ``%`` signs in both statement kinds (with and
without bound parameters), ``USE_TZ`` True and False.
"""

from __future__ import annotations

import datetime
import decimal
import io

import pytest
from django.core.management import call_command
from django.db import connections
from django.test.utils import override_settings

from migration_kit.dualwrite.apply import apply_keys, rendering_for
from tests.kit.dualwriteapp.models import Order
from tests.kit.kitapp.models import Composite, Everything
from tests.kit.rows import everything_rows, snapshot

pytestmark = pytest.mark.django_db(
    transaction=True, reset_sequences=True, databases=["default", "mysql", "s2"]
)

PAIRS = [
    ("default", "mysql"),
    pytest.param("default", "s2", marks=pytest.mark.s2),
    pytest.param("mysql", "s2", marks=pytest.mark.s2),
]
AWKWARD = ["100% sure", "%s and %%s", 'it\'s "quoted"', "back\\slash\\", "\\'", "ünï ✓ 🚀", "%"]


def same(a: dict, b: dict) -> None:
    """Equal snapshots; floats compare by value so -0.0 == 0.0 (MariaDB may drop the sign)."""
    assert a.keys() == b.keys()
    for pk, row in a.items():
        for name, value in row.items():
            assert value == b[pk][name], (pk, name, value, b[pk][name])


def rows(use_tz: bool) -> list[Everything]:
    """``everything_rows`` plus texts that stress the quoting, naive when ``use_tz`` is off."""
    found = everything_rows(60)
    for i, text in enumerate(AWKWARD):
        found.append(Everything(name=text[:100], text=text, data={"k": text, "i": i}))
    for row in found:
        if not use_tz and row.at is not None:
            row.at = row.at.replace(tzinfo=None)
    return found


@pytest.mark.parametrize("use_tz", [True, False])
@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_rendered_apply_equals_the_source(source: str, target: str, use_tz: bool) -> None:
    with override_settings(USE_TZ=use_tz):
        rendering = rendering_for(Everything, connections[source], connections[target])
        assert rendering is not None
        expected = {"ratio"}
        src, dst = connections[source].features, connections[target].features
        if source == "mysql" and src.has_native_uuid_field != dst.has_native_uuid_field:
            expected.add("uid")
        assert {f.name for f in rendering.bound} == expected

        Everything.objects.using(source).bulk_create(rows(use_tz))
        keys = list(Everything.objects.using(source).values_list("pk", flat=True))
        result = apply_keys(Everything, keys, source, target)
        assert result.upserted == len(keys)
        same(snapshot(Everything, source), snapshot(Everything, target))

        # Changed, emptied and deleted rows converge too.
        changed = Everything.objects.using(source).filter(pk__in=keys[:20])
        changed.update(text="50% more", data=None, at=None, blob=b"\x00'\\", flag=True)
        Everything.objects.using(source).filter(pk__in=keys[20:25]).delete()
        result = apply_keys(Everything, keys, source, target)
        assert result.deleted == 5
        same(snapshot(Everything, source), snapshot(Everything, target))
        out = io.StringIO()  # and s2_verify, which digests in SQL, finds the two equal
        call_command("s2_verify", "kitapp.Everything", source=source, target=target, stdout=out)
        assert "0 differing" in out.getvalue(), out.getvalue()
        # The wall time stored is the one Django writes: UTC with USE_TZ, else the naive value.
        row = Everything.objects.using(source).filter(at__isnull=False).order_by("pk").first()
        with connections[target].cursor() as cursor:
            cursor.execute("SELECT CAST(at AS CHAR) FROM kitapp_everything WHERE id = %s", [row.pk])
            stored = cursor.fetchone()[0]
        wall = row.at.astimezone(datetime.UTC).replace(tzinfo=None) if use_tz else row.at
        assert stored == wall.strftime("%Y-%m-%d %H:%M:%S.%f")


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_a_fully_rendered_statement_binds_nothing(source: str, target: str) -> None:
    """The user-shaped ``Order`` renders entirely in SQL: the upsert carries no parameters, so
    the drivers must leave the ``%`` signs of its texts alone."""
    rendering = rendering_for(Order, connections[source], connections[target])
    assert rendering is not None and rendering.bound == []
    placed = datetime.datetime(2024, 5, 17, 9, 30, 15, 250000, tzinfo=datetime.UTC)
    orders = [
        Order(
            customer_id=10**10 + i,
            total=decimal.Decimal(i) / 100,
            note=text,
            placed_at=placed,
            paid=i % 2 == 0,
            attrs=None if i % 3 == 0 else {"n": text},
            shipped_at=None,
        )
        for i, text in enumerate(AWKWARD * 3)
    ]
    Order.objects.using(source).bulk_create(orders)
    keys = list(Order.objects.using(source).values_list("pk", flat=True))
    assert apply_keys(Order, keys, source, target).upserted == len(keys)
    same(snapshot(Order, source), snapshot(Order, target))


def test_composite_keys_render_too() -> None:
    Composite.objects.using("default").bulk_create(
        Composite(tenant=t, seq=s, value=f"{t}'{s}%", amount=None if s % 2 else s)
        for t in range(1, 4)
        for s in range(1, 6)
    )
    keys = list(Composite.objects.using("default").values_list("tenant", "seq"))
    assert apply_keys(Composite, keys, "default", "mysql").upserted == len(keys)
    assert snapshot(Composite, "default") == snapshot(Composite, "mysql")


def test_other_targets_keep_the_python_path() -> None:
    assert rendering_for(Everything, connections["mysql"], connections["default"]) is None
