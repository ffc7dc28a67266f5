"""Shadow reads: sampled, compared, counted, logged — and never visible to the caller.

MariaDB (``mysql``) stands in for SingleStore: the source is PostgreSQL (``default``). Rows are
written and made to diverge with raw SQL, so no write hook (the kit's outbox) can interfere.
"""

import logging
import threading
import time

import pytest
from django.db import connections, transaction

from s2router import shadow
from s2router.models import ShadowStat
from tests.router.routerapp.models import Order

DATABASES = ["default", "mysql"]
# Only these apps' tables are flushed after each transactional test.
APPS = ["s2router", "tests.router.routerapp"]


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


def stored(alias: str = "default") -> dict[str, int] | None:
    """The durable counter row of routerapp.Order on ``alias`` (None: no row)."""
    row = ShadowStat.objects.using(alias).filter(model_label="routerapp.order")
    return row.values(*shadow.COUNTERS).first()


@pytest.fixture
def flush_every(monkeypatch):
    """Flush after every ``n`` shadow reads and never on time; the schedule starts now."""

    def apply(n: int) -> None:
        monkeypatch.setattr(shadow, "FLUSH_EVERY", n)
        monkeypatch.setattr(shadow, "FLUSH_SECONDS", 3600.0)
        monkeypatch.setattr(shadow, "_attempted_at", time.monotonic())
        monkeypatch.setattr(shadow, "_since_attempt", 0)

    return apply


@pytest.mark.django_db(databases=DATABASES, transaction=True, available_apps=APPS)
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


@pytest.mark.django_db(databases=DATABASES, transaction=True, available_apps=APPS)
def test_candidate_errors_are_counted_never_raised(orders):
    # PostgreSQL-only cast syntax: fine on the source, a syntax error on the candidate.
    rows = list(Order.objects.extra(where=["number::text = '1'"]))
    assert [o.number for o in rows] == ["1"]
    assert counters() == {"compared": 0, "matched": 0, "mismatched": 0, "errors": 1}


@pytest.mark.django_db(databases=DATABASES, transaction=True, available_apps=APPS)
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


@pytest.mark.django_db(databases=DATABASES, transaction=True, available_apps=APPS)
def test_counts_reach_the_phase_table_every_n_reads(orders, flush_every):
    flush_every(3)
    _sql("mysql", "DELETE FROM routerapp_order WHERE id = 3")
    list(Order.objects.all())  # mismatch
    Order.objects.count()  # mismatch
    assert stored() is None  # pending in this process only
    assert counters() == {"compared": 2, "matched": 0, "mismatched": 2, "errors": 0}
    Order.objects.filter(id=1).count()  # the third read flushes all three
    assert stored() == {"compared": 3, "matched": 1, "mismatched": 2, "errors": 0}
    row = ShadowStat.objects.get(model_label="routerapp.order")
    assert row.last_mismatch_at is not None and row.updated_at >= row.last_mismatch_at
    Order.objects.filter(id=1).count()
    assert counters() == {"compared": 4, "matched": 2, "mismatched": 2, "errors": 0}
    assert shadow.flush() and stored()["compared"] == 4  # an UPDATE adds to the row
    assert shadow.report("routerapp.Order")["routerapp.order"]["last_mismatch_at"] == (
        row.last_mismatch_at
    )
    shadow.reset_stats("routerapp.Order")
    assert stored() is None and counters() == {}


@pytest.mark.django_db(databases=DATABASES, transaction=True, available_apps=APPS)
def test_flush_waits_for_the_phase_database_transaction_to_commit(orders, flush_every):
    flush_every(1)
    with transaction.atomic(using="default"):
        list(Order.objects.all())
        assert stored() is None  # not written inside the caller's transaction
    assert stored() == {"compared": 1, "matched": 1, "mismatched": 0, "errors": 0}

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic(using="default"):
        Order.objects.count()
        raise Abort
    # The rollback dropped the scheduled flush, not the counts.
    assert stored()["compared"] == 1 and counters()["compared"] == 2
    assert shadow.flush() and stored()["compared"] == 2


@pytest.mark.django_db(databases=DATABASES, transaction=True, available_apps=APPS)
def test_a_failing_flush_is_logged_and_keeps_the_counts(
    orders, flush_every, s2router_settings, caplog
):
    """The phase table is missing: the reads still answer, counts wait for a later flush."""
    s2router_settings(**_settings(), PHASE_DATABASE="mysql")
    flush_every(1)
    _sql("mysql", "RENAME TABLE s2router_shadowstat TO s2router_shadowstat_away")
    try:
        with caplog.at_level(logging.WARNING, logger="s2router.shadow"):
            assert len(list(Order.objects.all())) == 3
            assert Order.objects.count() == 3
            assert not shadow.flush()
            assert counters()["compared"] == 2  # the unreadable table is logged, not raised
        assert "could not flush shadow counters to mysql" in caplog.text
        assert "shadow counters unreadable on mysql" in caplog.text
    finally:
        _sql("mysql", "RENAME TABLE s2router_shadowstat_away TO s2router_shadowstat")
    assert stored("mysql") is None
    assert shadow.flush() and stored("mysql") == {
        "compared": 2,
        "matched": 2,
        "mismatched": 0,
        "errors": 0,
    }


@pytest.mark.django_db(databases=DATABASES, transaction=True, available_apps=APPS)
def test_threads_flushing_at_once_lose_and_double_nothing(orders, flush_every):
    flush_every(1)  # every read tries to flush; a thread finding a flush running leaves it

    def serve() -> None:
        try:
            for _ in range(5):
                Order.objects.filter(id__lte=2).count()
        finally:
            connections.close_all()

    workers = [threading.Thread(target=serve) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert counters() == {"compared": 20, "matched": 20, "mismatched": 0, "errors": 0}
    assert shadow.flush() and stored() == counters()
