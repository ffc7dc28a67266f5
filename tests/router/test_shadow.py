"""Shadow reads: sampled, compared, counted, logged — and never visible to the caller.

MariaDB (``mysql``) stands in for SingleStore: the source is PostgreSQL (``default``). Rows are
written and made to diverge with raw SQL, so no write hook (the kit's outbox) can interfere.
"""

import logging

import pytest
from django.db import connections

from s2router import shadow
from tests.routerapp.models import Order

DATABASES = ["default", "mysql"]


def _settings(phase: str = "shadow", rate: float = 1) -> dict:
    return {
        "SINGLESTORE": "mysql",
        "MIGRATING": {
            "routerapp.Order": {"source": "default", "phase": phase, "shadow_sample_rate": rate}
        },
    }


def _sql(alias: str, sql: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql)


@pytest.fixture
def orders(s2router_settings) -> None:
    s2router_settings(**_settings())
    for alias in DATABASES:
        _sql(
            alias,
            "INSERT INTO routerapp_order (id, number, amount) "
            "VALUES (1, '1', 1.00), (2, '2', 2.00), (3, '3', 3.00)",
        )
    shadow.reset_stats()


def counters() -> dict[str, int]:
    return shadow.stats().get("routerapp.order", {})


@pytest.mark.django_db(databases=DATABASES, transaction=True)
def test_reads_are_compared_and_mismatches_logged_counted_and_hidden(orders, caplog):
    assert [o.number for o in Order.objects.all()] == ["1", "2", "3"]
    assert Order.objects.filter(amount__gte=2).count() == 2
    assert list(Order.objects.order_by("-number").values_list("number", flat=True)) == [
        "3",
        "2",
        "1",
    ]
    assert list(Order.objects.order_by().values("id", "number")) is not None  # unordered
    assert counters() == {"compared": 4, "matched": 4, "mismatched": 0, "errors": 0}

    _sql("mysql", "UPDATE routerapp_order SET amount = 99 WHERE id = 2")
    _sql("mysql", "DELETE FROM routerapp_order WHERE id = 3")
    received = []

    def receiver(**kwargs):
        received.append(kwargs["kind"])

    shadow.shadow_mismatch.connect(receiver)
    try:
        with caplog.at_level(logging.WARNING, logger="s2router.shadow"):
            amounts = [int(o.amount) for o in Order.objects.all()]
            count = Order.objects.count()
    finally:
        shadow.shadow_mismatch.disconnect(receiver)
    assert (amounts, count) == ([1, 2, 3], 3)  # the source's answers
    assert received == ["rows", "count"]
    assert counters() == {"compared": 6, "matched": 4, "mismatched": 2, "errors": 0}
    assert "shadow mismatch on routerapp.order (rows): source 3 rows, mysql 2 rows" in caplog.text


@pytest.mark.django_db(databases=DATABASES, transaction=True)
def test_candidate_errors_are_counted_never_raised(orders):
    # PostgreSQL-only cast syntax: fine on the source, a syntax error on the candidate.
    rows = list(Order.objects.extra(where=["number::text = '1'"]))
    assert [o.number for o in rows] == ["1"]
    assert counters() == {"compared": 0, "matched": 0, "mismatched": 0, "errors": 1}


@pytest.mark.django_db(databases=DATABASES, transaction=True)
def test_only_sampled_router_routed_reads_in_shadow_are_shadowed(orders, s2router_settings):
    _sql("mysql", "DELETE FROM routerapp_order")  # any comparison would now mismatch
    list(Order.objects.using("default"))  # explicit .using(): the router did not choose
    Order.objects.using("default").count()
    for phase in ("legacy", "dual_write", "cutover", "done"):
        s2router_settings(**_settings(phase))
        list(Order.objects.all())
        Order.objects.count()
    s2router_settings(**_settings("shadow", rate=0))
    list(Order.objects.all())
    assert counters() == {}


@pytest.mark.django_db(databases=DATABASES)
def test_no_shadow_read_while_singlestore_is_in_a_transaction(s2router_settings):
    # The test runs inside atomic() on every alias: a failing candidate must not touch it.
    s2router_settings(**_settings())
    shadow.reset_stats()
    assert connections["mysql"].in_atomic_block
    list(Order.objects.all())
    assert counters() == {}
