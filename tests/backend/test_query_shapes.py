"""Query shapes SingleStore refuses (rules.SHAPE_RULES): the backend compiles them into SQL it
runs with the same result, or refuses them before sending. Each rewrite is proven through the
emulator's rules: the SQL Django would have sent is refused there, ours is not."""

from __future__ import annotations

import datetime
import os
import threading
from decimal import Decimal

import pytest
from django.db import NotSupportedError, connections, transaction
from django.db.backends.mysql import compiler as mysql_compiler
from django.db.models import (
    CharField,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models.functions import SHA224, Chr, Collate, Concat
from django.test.utils import CaptureQueriesContext

from django_singlestore import rules
from tests.backend.backendapp.models import Article, Tag
from tests.kit.kitapp.models import Everything

pytestmark = [pytest.mark.s2, pytest.mark.django_db(databases=["s2"], transaction=True)]
REAL_SERVER = bool(os.environ.get("S2_TEST_URL"))


def _articles() -> tuple[Tag, list[Article]]:
    tag = Tag.objects.using("s2").create(name="news")
    made = [Article.objects.using("s2").create(title=f"a{i}") for i in range(4)]
    for article in made[:3]:
        article.tags.add(tag)
    return tag, made


def _refused_as_sent(sql: str, params, rule: rules.Rule) -> None:
    """The statement Django's MySQL compiler would send is refused with ``rule``'s text."""
    with pytest.raises(Exception) as caught, connections["s2"].cursor() as cursor:
        cursor.execute(sql, params)
    if not REAL_SERVER or rule.message_public:
        assert rule.message.split("{")[0] in str(caught.value)


def test_select_for_update_over_a_join_locks_the_rows_without_the_join() -> None:
    tag, made = _articles()
    query = Article.objects.using("s2").select_for_update().filter(tags=tag).order_by("id")
    with transaction.atomic(using="s2"):
        mysql_sql, params = query.query.get_compiler("s2").as_sql()
        assert " JOIN " in mysql_sql and mysql_sql.endswith("FOR UPDATE")
        _refused_as_sent(mysql_sql, params, rules.FOR_UPDATE_JOIN)
    with transaction.atomic(using="s2"), CaptureQueriesContext(connections["s2"]) as sent:
        assert [a.title for a in query] == ["a0", "a1", "a2"]
        locks = [q["sql"] for q in sent if q["sql"].endswith("FOR UPDATE")]
        assert locks and all(" JOIN " not in q and "(SELECT" not in q for q in locks)
        if not REAL_SERVER:
            _assert_blocked(made[1].pk)


def _assert_blocked(pk: int) -> None:
    """Another session cannot write a row the transaction locked (MariaDB's lock wait)."""
    outcome: dict[str, object] = {}

    def write() -> None:
        other = connections.create_connection("s2")
        try:
            with other.cursor() as cursor:
                cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")
                cursor.execute("UPDATE backendapp_article SET body = 'x' WHERE id = %s", [pk])
            outcome["written"] = True
        except Exception as error:
            outcome["error"] = str(error)
        finally:
            other.close()

    thread = threading.Thread(target=write)
    thread.start()
    thread.join(timeout=15)
    assert "Lock wait timeout" in str(outcome.get("error")), outcome


def test_update_or_create_through_a_related_manager_uses_the_lock_rewrite() -> None:
    tag, made = _articles()
    article, created = made[0].tags.update_or_create(name="news", defaults={"name": "News"})
    assert (article.pk, created) == (tag.pk, False)
    assert Tag.objects.using("s2").get(pk=tag.pk).name == "News"
    article, created = made[3].tags.update_or_create(name="fresh")
    assert created and list(made[3].tags.values_list("name", flat=True)) == ["fresh"]


def test_select_for_update_over_a_join_keeps_ordering_and_offset_slices() -> None:
    tag, _ = _articles()
    query = Article.objects.using("s2").select_for_update().filter(tags=tag).order_by("-id")
    with transaction.atomic(using="s2"):
        assert [a.title for a in query[1:3]] == ["a1", "a0"]
        assert query.values_list("title", flat=True).get(title="a2") == "a2"


def test_select_for_update_with_a_subquery_and_no_match() -> None:
    _articles()
    subquery = Tag.objects.using("s2").filter(name="missing").values("pk")
    with transaction.atomic(using="s2"):
        assert list(Article.objects.using("s2").select_for_update().filter(tags__in=subquery)) == []


def test_sliced_union_applies_the_limit_to_the_whole_result() -> None:
    _articles()
    first = Article.objects.using("s2").filter(title__in=["a0", "a1"])
    second = Article.objects.using("s2").filter(title__in=["a2", "a3"])
    combined = first.union(second)[:3]
    mysql_sql, params = combined.query.get_compiler("s2").as_sql()
    assert mysql_sql.startswith("SELECT * FROM (")
    assert len(list(combined)) == 3
    plain = mysql_sql[len("SELECT * FROM (") : mysql_sql.rindex(") AS")] + " LIMIT 3"
    with connections["s2"].cursor() as cursor:  # the unwrapped form, as SingleStore runs it
        cursor.execute(plain, params)
        assert len(cursor.fetchall()) == 4


def test_union_limit_plain_form_binds_to_the_last_part() -> None:
    _articles()
    with connections["s2"].cursor() as cursor:
        cursor.execute(
            "(SELECT id FROM backendapp_article) UNION (SELECT id + 100 FROM backendapp_article) "
            "LIMIT 3"
        )
        assert len(cursor.fetchall()) == 4 + 3


@pytest.mark.parametrize(
    ("build", "rule"),
    [
        (
            lambda: Article.objects.using("s2").aggregate(
                n=Count("id", filter=Q(Exists(Tag.objects.filter(articles=OuterRef("pk")))))
            ),
            rules.SUBSELECT_IN_AGGREGATE,
        ),
        (
            lambda: list(Article.objects.using("s2").annotate(h=SHA224("title"))),
            rules.SHA224,
        ),
        (
            lambda: list(Article.objects.using("s2").annotate(c=Chr(Value(201)))),
            rules.CHAR_NON_ASCII,
        ),
        (
            lambda: list(Article.objects.using("s2").order_by(Collate("title", "utf8mb4_bin"))),
            rules.ORDER_BY_COLLATE,
        ),
        (
            lambda: Article.objects.using("s2").create(
                title=Subquery(Article.objects.using("s2").values("title")[:1])
            ),
            rules.SELECT_IN_VALUES,
        ),
    ],
    ids=["aggregate-over-exists", "sha224", "chr-201", "order-by-collate", "create-subquery"],
)
def test_refused_constructs_raise_before_anything_is_sent(build, rule) -> None:
    _articles()
    with (
        CaptureQueriesContext(connections["s2"]) as sent,
        pytest.raises(NotSupportedError) as caught,
    ):
        build()
    assert rule.id in str(caught.value) and not sent.captured_queries


def test_aggregate_over_a_subquery_of_reference_tables_is_not_refused() -> None:
    Tag.objects.using("s2").create(name="x")
    result = Tag.objects.using("s2").aggregate(
        n=Count("id", filter=Q(Exists(Tag.objects.filter(pk=OuterRef("pk")))))
    )
    assert result == {"n": 1}


def _nested_outerref():
    through = Article.tags.through
    inner = through.objects.filter(article_id=OuterRef(OuterRef("pk"))).values("tag_id")[:1]
    middle = Tag.objects.filter(pk=Subquery(inner)).values("name")[:1]
    return Article.objects.using("s2").annotate(tag=Subquery(middle))


def _group_by_subquery():
    first_tag = Article.tags.through.objects.filter(article_id=OuterRef("pk")).values("tag_id")
    return (
        Article.objects.using("s2")
        .annotate(tag=Subquery(first_tag[:1]))
        .values("tag")
        .annotate(n=Count("id"))
        .order_by()
    )


def _having_subquery():
    return (
        Article.objects.using("s2")
        .values("title")
        .annotate(n=Count("id"))
        .filter(n__gt=Subquery(Tag.objects.using("s2").values("id")[:1]))
        .order_by()
    )


PLANNER_REFUSALS = [
    (_nested_outerref, rules.SUBSELECT_OUTER_LEVELS),
    (_group_by_subquery, rules.SUBSELECT_GROUP_BY),
    (_having_subquery, rules.SUBSELECT_OUTER_LEVELS),
]


@pytest.mark.parametrize(
    ("build", "rule"),
    PLANNER_REFUSALS,
    ids=["nested-outerref", "group-by-subquery", "having-subquery"],
)
def test_planner_refusals_raise_before_sending_and_match_the_emulator(build, rule) -> None:
    """The backend refuses what the server refuses (Django's MySQL SQL for the same queryset is
    refused there with the rule's text), and sends nothing."""
    _articles()
    queryset = build()
    connection = connections["s2"]
    mysql_sql, params = mysql_compiler.SQLCompiler(queryset.query, connection, "s2").as_sql()
    _refused_as_sent(mysql_sql, params, rule)
    with CaptureQueriesContext(connection) as sent, pytest.raises(NotSupportedError) as caught:
        list(build())
    assert rule.id in str(caught.value) and not sent.captured_queries


def test_planner_neighbours_still_run() -> None:
    """One level of OuterRef, ordering by a column while filtering by Exists, grouping by a
    column and HAVING without a subquery: accepted, and computed as everywhere."""
    _articles()
    tagged = Article.tags.through.objects.filter(article_id=OuterRef("pk"))
    names = Tag.objects.filter(articles=OuterRef("pk")).values("name")[:1]
    rows = Article.objects.using("s2").annotate(tag=Subquery(names)).order_by("id")
    assert [r.tag for r in rows] == ["news", "news", "news", None]
    assert list(
        Article.objects.using("s2")
        .filter(Exists(tagged))
        .order_by("-id")
        .values_list("title", flat=True)
    ) == ["a2", "a1", "a0"]
    grouped = Article.objects.using("s2").values("title").annotate(n=Count("id")).filter(n__gt=0)
    assert sorted(r["title"] for r in grouped.order_by()) == ["a0", "a1", "a2", "a3"]


def test_nested_outerref_over_reference_tables_only_is_sent() -> None:
    """The planner rules are not applied to reference-only statements (a boundary guess)."""
    Tag.objects.using("s2").create(name="x")
    inner = Tag.objects.filter(pk=OuterRef(OuterRef("pk"))).values("pk")[:1]
    middle = Tag.objects.filter(pk=Subquery(inner)).values("name")[:1]
    assert list(
        Tag.objects.using("s2").annotate(n=Subquery(middle)).values_list("n", flat=True)
    ) == ["x"]


def test_dates_before_year_1000_are_refused_before_sending() -> None:
    """S2-DATE-BEFORE-1000: the backend refuses the value in its adapt methods (writes and
    lookups), naming the rule; year 1000 itself is stored."""
    early = datetime.datetime(999, 12, 31, 23, 0, tzinfo=datetime.UTC)
    with CaptureQueriesContext(connections["s2"]) as sent:
        with pytest.raises(ValueError, match="S2-DATE-BEFORE-1000"):
            Article.objects.using("s2").create(title="early", published=early)
        with pytest.raises(ValueError, match="1000-01-01"):
            list(Article.objects.using("s2").filter(published__lt=early))
    assert not sent.captured_queries
    first = datetime.datetime(1000, 1, 1, tzinfo=datetime.UTC)
    article = Article.objects.using("s2").create(title="year 1000", published=first)
    assert Article.objects.using("s2").get(pk=article.pk).published == first


def test_raw_sql_with_a_date_before_year_1000_is_refused_by_the_server() -> None:
    """Past the backend (raw SQL), the server's refusal reaches Django as NotSupportedError."""
    with pytest.raises(NotSupportedError) as caught, connections["s2"].cursor() as cursor:
        cursor.execute(
            "INSERT INTO backendapp_article (title, body, published) VALUES (%s, '', %s)",
            ["raw", "0999-06-15 10:00:00"],
        )
    if not REAL_SERVER:
        assert rules.DATE_BEFORE_1000.message in str(caught.value)


def test_a_refusal_only_the_server_can_judge_names_the_construct() -> None:
    """S2-CORRELATED-SHARD's boundary is a guess, so the backend sends the query; the refusal
    comes back as NotSupportedError naming the ORM construct, the rule and the workaround."""
    _articles()
    labels = (
        Tag.objects.annotate(label=Concat(OuterRef("title"), "name", output_field=CharField()))
        .order_by("name")
        .values("label")[:1]
    )
    with pytest.raises(NotSupportedError) as caught:
        list(Article.objects.using("s2").annotate(label=Subquery(labels)))
    text = str(caught.value)
    assert rules.CORRELATED_UNTRANSFORMABLE.id in text and "Subquery/Exists with OuterRef" in text
    assert rules.CORRELATED_UNTRANSFORMABLE.hint in text
    if not REAL_SERVER or rules.CORRELATED_UNTRANSFORMABLE.message_public:
        assert rules.CORRELATED_UNTRANSFORMABLE.message in text


@pytest.mark.django_db(databases=["s2", "default"], transaction=True)
def test_duration_times_a_number_computes_as_on_postgresql() -> None:
    """S2-INTERVAL-ARITHMETIC: ``F(duration) * k`` and ``/ k`` run on the stored microseconds
    and give what PostgreSQL (native intervals) and Python compute; Django's MySQL SQL for it
    (``INTERVAL col MICROSECOND * k``, unimplemented there: #25287) is refused."""
    spans = [datetime.timedelta(hours=1, microseconds=7), datetime.timedelta(days=-2, seconds=3)]
    results = {}
    for alias in ("s2", "default"):
        Everything.objects.using(alias).bulk_create(
            [Everything(name=str(i), span=span, ratio=2.5) for i, span in enumerate(spans)]
        )
        queryset = (
            Everything.objects.using(alias)
            .annotate(
                times=ExpressionWrapper(F("span") * F("ratio"), output_field=DurationField()),
                twice=ExpressionWrapper(2 * F("span"), output_field=DurationField()),
                part=ExpressionWrapper(F("span") / Decimal("3.2"), output_field=DurationField()),
            )
            .order_by("name")
        )
        results[alias] = [(e.times, e.twice, e.part) for e in queryset]
    assert results["s2"] == results["default"]
    assert results["s2"] == [(s * 2.5, s * 2, s / 3.2) for s in spans]
    s2_query = Everything.objects.using("s2").annotate(
        times=ExpressionWrapper(F("span") * 2, output_field=DurationField())
    )
    sql, params = mysql_compiler.SQLCompiler(s2_query.query, connections["s2"], "s2").as_sql()
    assert "MICROSECOND" in sql
    _refused_as_sent(sql, params, rules.INTERVAL_ARITHMETIC)


def _articles_on(alias: str) -> None:
    tags = [Tag.objects.using(alias).create(name=n) for n in ("news", "sport")]
    made = [Article.objects.using(alias).create(title=f"a{i}") for i in range(5)]
    made[1].tags.add(tags[0])
    made[3].tags.add(tags[0], tags[1])
    made[4].tags.add(tags[1])


@pytest.mark.django_db(databases=["s2", "default"], transaction=True)
def test_order_by_a_correlated_subquery_sorts_a_derived_table() -> None:
    """S2-SUBSELECT-OUTER-LEVELS, rewritten: ORDER BY Exists/Subquery(OuterRef) becomes a column
    of a derived table sorted outside (the emulator refuses the plain SQL and accepts ours);
    rows, order, slices and nulls ordering are PostgreSQL's."""

    def orderings(alias: str) -> dict[str, list[str]]:
        through = Article.tags.through.objects.filter(article_id=OuterRef("pk"))
        first_tag = Tag.objects.filter(articles=OuterRef("pk")).order_by("name").values("name")
        articles = Article.objects.using(alias)
        return {
            "exists": list(
                articles.order_by(Exists(through).desc(), "-id").values_list("title", flat=True)
            ),
            "sliced": [a.title for a in articles.order_by(Exists(through).desc(), "id")[1:3]],
            "annotation": list(
                articles.annotate(tag=Subquery(first_tag[:1]))
                .order_by(F("tag").asc(nulls_last=True), "id")
                .values_list("title", "tag")
            ),
        }

    _articles_on("s2")
    _articles_on("default")
    assert orderings("s2") == orderings("default")
    assert orderings("s2")["exists"] == ["a4", "a3", "a1", "a2", "a0"]
    through = Article.tags.through.objects.filter(article_id=OuterRef("pk"))
    queryset = Article.objects.using("s2").order_by(Exists(through).desc(), "id")
    plain, params = mysql_compiler.SQLCompiler(queryset.query, connections["s2"], "s2").as_sql()
    _refused_as_sent(plain, params, rules.SUBSELECT_OUTER_LEVELS)
    sql, _ = queryset.query.get_compiler("s2").as_sql()
    assert sql.startswith("SELECT * FROM (") and sql.endswith("`__s2_order1` ASC")
