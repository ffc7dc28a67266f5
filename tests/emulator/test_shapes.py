"""The query-shape layer on its own: the byte test, the parse cache, storage, UNION ... LIMIT."""

from __future__ import annotations

from django_singlestore import rules
from s2emulator import shapes

SHARDED = rules.TableSpec(
    name="t",
    columns=(rules.Column("id", "bigint"), rules.Column("a", "int")),
    keys=(rules.Key("PRIMARY", rules.PRIMARY, ("id",)),),
)
REFERENCE = SHARDED.with_changes(name="r", storage=rules.Storage.ROWSTORE_REFERENCE)


def lookup(db, name):
    return {"t": SHARDED, "r": REFERENCE, "r2": REFERENCE.with_changes(name="r2")}.get(name)


def test_the_byte_test_lets_ordinary_statements_through_unparsed() -> None:
    for sql in (
        b"SELECT `t`.`id` FROM `t` WHERE `t`.`id` = 1 LIMIT 21",
        b"INSERT INTO t (id, a) VALUES (1, 2), (3, 4)",
        b"UPDATE t SET a = 2 WHERE id IN (1, 2)",
    ):
        assert not shapes.candidate(sql)
    for sql in (
        b"select x from t where exists( select 1 from r)",
        b"SELECT 1 FROM t FOR  UPDATE",
        b"SELECT SHA2(x, 224) FROM t",
        b"INSERT INTO t (d) VALUES ('0999-01-01')",
    ):
        assert shapes.candidate(sql)


def test_parse_trees_are_cached_and_unparseable_statements_pass() -> None:
    sql = "SELECT t.id FROM t JOIN r ON t.a = r.id FOR UPDATE"
    assert shapes._parse(sql) is shapes._parse(sql)
    assert shapes.check(sql, "db", lookup).rule is rules.FOR_UPDATE_JOIN
    assert shapes.check("SELECT j::$a FROM t WHERE (SELECT", "db", lookup) is None


def test_storage_decides_the_planner_rules() -> None:
    nested = (
        "SELECT {o}.id, (SELECT (SELECT r2.a FROM r2 WHERE r2.id = {o}.a) FROM r LIMIT 1) FROM {o}"
    )
    assert shapes.check(nested.format(o="t"), "db", lookup).rule is rules.SUBSELECT_OUTER_LEVELS
    assert shapes.check(nested.format(o="r"), "db", lookup) is None
    # Unknown tables are SingleStore's default: sharded columnstore.
    assert shapes.check(nested.format(o="x"), "db", lookup) is not None
    system = (
        "SELECT 1 FROM information_schema.TABLES a WHERE EXISTS(SELECT 1 FROM "
        "information_schema.COLUMNS c WHERE c.TABLE_NAME = a.TABLE_NAME) FOR UPDATE"
    )
    assert shapes.check(system, "db", lookup) is None


def test_union_limit_moves_into_the_last_part_only_when_nothing_else_orders() -> None:
    assert (
        shapes.union_limit("(SELECT a FROM t) UNION (SELECT a FROM r) LIMIT 2")
        == "(SELECT a FROM t) UNION (SELECT a FROM r LIMIT 2)"
    )
    assert (
        shapes.union_limit("(SELECT a FROM t) UNION (SELECT a FROM r) ORDER BY 1 LIMIT 2") is None
    )
    assert (
        shapes.union_limit("SELECT * FROM ((SELECT a FROM t) UNION (SELECT a FROM r)) u LIMIT 2")
        is None
    )
    assert shapes.union_limit("SELECT a FROM t LIMIT 2") is None
