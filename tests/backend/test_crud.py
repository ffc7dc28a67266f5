"""The core ORM paths on SingleStore: CRUD, many-to-many, composite keys, defaults, windows."""

import datetime

import pytest
from django.db import connections
from django.db.models import F, Sum, Window
from django.db.models.functions import RowNumber
from django.test import override_settings
from django.utils import timezone

from tests.backend.backendapp.models import Account, Article, Event, LegacyItem, Reading, Tag

pytestmark = [pytest.mark.s2, pytest.mark.django_db(databases=["default", "s2"])]


def test_vendor_and_version() -> None:
    connection = connections["s2"]
    assert connection.vendor == "singlestore"
    assert connection.display_name == "SingleStore"
    assert connection.get_database_version() >= (7, 3)


def test_create_get_update_delete() -> None:
    article = Article.objects.using("s2").create(title="first")
    assert isinstance(article.pk, int)
    fetched = Article.objects.using("s2").get(pk=article.pk)
    assert fetched.title == "first"
    assert Article.objects.using("s2").filter(pk=article.pk).update(title="second") == 1
    # Matched, not changed, rows: the same value again still counts (CLIENT_FOUND_ROWS).
    assert Article.objects.using("s2").filter(pk=article.pk).update(title="second") == 1
    assert Article.objects.using("s2").get(pk=article.pk).title == "second"
    deleted, _ = Article.objects.using("s2").filter(pk=article.pk).delete()
    assert deleted == 1
    assert not Article.objects.using("s2").exists()


def test_bulk_create_and_aggregate() -> None:
    now = timezone.now()
    Event.objects.using("s2").bulk_create(
        [Event(tenant_id=i % 3, id=i, kind="view", created=now, amount=i) for i in range(30)]
    )
    assert Event.objects.using("s2").count() == 30
    total = Event.objects.using("s2").filter(tenant_id=1).aggregate(total=Sum("amount"))
    assert total["total"] == sum(i for i in range(30) if i % 3 == 1)


def test_many_to_many_auto_created_table() -> None:
    article = Article.objects.using("s2").create(title="tagged")
    Tag.objects.using("s2").bulk_create([Tag(name="red"), Tag(name="blue")])
    blue, red = Tag.objects.using("s2").order_by("name")
    article.tags.add(red, blue)
    article.tags.add(red)  # already there: Django skips it, the UNIQUE (from, to) key holds
    assert sorted(article.tags.values_list("name", flat=True)) == ["blue", "red"]
    assert list(Article.objects.using("s2").filter(tags__name="red")) == [article]
    through = Article.tags.through.objects.using("s2").get(tag=red)
    assert isinstance(through.pk, int)
    article.tags.remove(red)
    assert list(article.tags.values_list("name", flat=True)) == ["blue"]


def test_composite_primary_key() -> None:
    taken = timezone.now().replace(microsecond=0)
    Reading.objects.using("s2").create(sensor=7, taken=taken, value=1.5)
    reading = Reading.objects.using("s2").get(pk=(7, taken))
    assert reading.value == 1.5
    assert reading.pk == (7, taken)


def test_db_default_and_generated_columns() -> None:
    account = Account.objects.using("s2").create(name="Bob")
    account.refresh_from_db()
    assert account.balance == 0
    Account.objects.using("s2").filter(pk=account.pk).update(balance=21)
    account.refresh_from_db()
    assert (account.doubled, account.lowered) == (42, "bob")


def test_window_functions() -> None:
    now = timezone.now()
    Event.objects.using("s2").bulk_create(
        [Event(tenant_id=1, id=i, kind="k", created=now, amount=i) for i in range(1, 5)]
    )
    rows = (
        Event.objects.using("s2")
        .annotate(
            running=Window(Sum("amount"), order_by=F("id").asc()),
            position=Window(RowNumber(), order_by=F("id").desc()),
        )
        .order_by("id")
        .values_list("id", "running", "position")
    )
    assert [(i, int(r), p) for i, r, p in rows] == [(1, 1, 4), (2, 3, 3), (3, 6, 2), (4, 10, 1)]


def test_upstream_manager_storage_and_reference_unique() -> None:
    LegacyItem.objects.using("s2").create(code="A")
    assert LegacyItem.objects.using("s2").get(code="A").code == "A"


def test_use_tz_true_stores_utc_naive() -> None:
    aware = datetime.datetime(
        2024, 5, 1, 12, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
    )
    article = Article.objects.using("s2").create(title="tz", published=aware)
    with connections["s2"].cursor() as cursor:
        cursor.execute("SELECT published FROM backendapp_article WHERE id = %s", [article.pk])
        (raw,) = cursor.fetchone()
    assert raw == datetime.datetime(2024, 5, 1, 10, 30)
    loaded = Article.objects.using("s2").get(pk=article.pk).published
    assert loaded == aware and loaded.tzinfo is not None


@override_settings(USE_TZ=False)
def test_use_tz_false_round_trips_naive() -> None:
    naive = datetime.datetime(2024, 5, 1, 12, 30)
    article = Article.objects.using("s2").create(title="naive", published=naive)
    assert Article.objects.using("s2").get(pk=article.pk).published == naive
    assert (
        Article.objects.using("s2").filter(published__date=datetime.date(2024, 5, 1)).count() == 1
    )
