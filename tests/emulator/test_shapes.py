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


DATED = SHARDED.with_changes(
    name="d", columns=(rules.Column("id", "bigint"), rules.Column("at", "date"))
)


def dated_lookup(db, name):
    return DATED if name == "d" else lookup(db, name)


#: Statements that differ from a neighbour only in a literal whose value a rule reads.
LITERAL_PAIRS = [
    ("SELECT SHA2(t.a, 224) FROM t", "SELECT SHA2(t.a, 256) FROM t"),
    ("SELECT CHAR(200) FROM t", "SELECT CHAR(65) FROM t"),
    (
        "INSERT INTO d (id, at) VALUES (1, '0999-01-01')",
        "INSERT INTO d (id, at) VALUES (1, '1999-01-01')",
    ),
    ("UPDATE d SET at = ' 0999-01-01' WHERE id = 1", "UPDATE d SET at = '1999-01-01' WHERE id = 1"),
    (
        "SELECT t.id, (SELECT r.a FROM r WHERE r.id = t.a) AS x FROM t GROUP BY 1, 2",
        "SELECT t.id, (SELECT r.a FROM r WHERE r.id = t.a) AS x FROM t GROUP BY 1",
    ),
    (
        "SELECT t.id, (SELECT r.a FROM r WHERE r.id = t.a) AS x FROM t ORDER BY 2",
        "SELECT t.id, (SELECT r.a FROM r WHERE r.id = t.a) AS x FROM t ORDER BY 1",
    ),
]


def test_statements_differing_only_in_literals_share_one_analysis() -> None:
    template = (
        "SELECT b.id FROM t b /* it's */ WHERE b.id = {n} AND b.a = '{s}' AND EXISTS("
        "SELECT 1 FROM r WHERE r.id = b.a LIMIT 1)"
    )
    first = template.format(n=1, s="x")
    generation = 1_000_001  # a generation no other test uses: an empty cache for it
    assert shapes.check_cached(first, "db", lookup, generation) is None
    misses = shapes._parse.cache_info().misses
    for n, s in ((2, "it''s"), (30_000, "y"), (4, "")):
        assert shapes.check_cached(template.format(n=n, s=s), "db", lookup, generation) is None
    assert shapes._parse.cache_info().misses == misses  # none of them was parsed
    assert shapes.shape_key(template.format(n=5, s="z")) == shapes.shape_key(first)


def test_a_verdict_never_depends_on_a_literals_value() -> None:
    for generation, (refused, accepted) in enumerate(LITERAL_PAIRS, start=2_000_000):
        assert shapes.check(refused, "db", dated_lookup) is not None, refused
        assert shapes.check(accepted, "db", dated_lookup) is None, accepted
        # Whichever the cache sees first, each gets its own verdict.
        for order, offset in (((refused, accepted), 0), ((accepted, refused), 100)):
            for sql in order:
                cached = shapes.check_cached(sql, "db", dated_lookup, generation + offset)
                assert cached == shapes.check(sql, "db", dated_lookup), sql
        assert shapes.shape_key(refused) != shapes.shape_key(accepted)


def test_the_verdict_cache_is_bounded() -> None:
    generation = 3_000_000
    for i in range(shapes.VERDICT_CACHE_SIZE + 50):
        sql = f"SELECT t.id FROM t WHERE EXISTS(SELECT 1 FROM r WHERE r.id = t.a AND r.c{i} = 1)"
        shapes.check_cached(sql, "db", lookup, generation)
    assert len(shapes._VERDICTS) <= shapes.VERDICT_CACHE_SIZE
