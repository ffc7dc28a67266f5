"""Conformance table: statement → accepted, or refused with SingleStore's error number and text.

Every rule in :data:`django_singlestore.rules.RULES` has at least one row. Rows run through the
real ``singlestoredb`` driver against the session's SingleStore: the emulator by default, a real
server under ``S2_TEST_URL`` (where only publicly confirmed numbers and texts are asserted, and
rows that need an emulator switch are skipped).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest
import singlestoredb

from django_singlestore import rules
from tests.emulator.scratchdb import drop_database, new_database, open_connection

REAL_SERVER = bool(os.environ.get("S2_TEST_URL"))

SHARDED = "CREATE TABLE t (id BIGINT NOT NULL, a INT NULL, b INT, c VARCHAR(10), PRIMARY KEY (id))"
EXPLICIT_SHARD = "CREATE TABLE s (id BIGINT NOT NULL, a INT, SHARD KEY (a))"
REFERENCE = "CREATE REFERENCE TABLE r (id BIGINT AUTO_INCREMENT PRIMARY KEY, a INT)"
SHARDED_U = "CREATE TABLE u (id BIGINT NOT NULL, tid BIGINT, PRIMARY KEY (id))"
ROWSTORE_A = "CREATE ROWSTORE TABLE ra (id BIGINT PRIMARY KEY, a INT, b INT)"
ROWSTORE_REFERENCE_B = "CREATE ROWSTORE REFERENCE TABLE rb (id BIGINT PRIMARY KEY)"
DATES = "CREATE TABLE d (id BIGINT PRIMARY KEY, day DATE, at DATETIME(6), note VARCHAR(20))"


@dataclass(frozen=True)
class Case:
    id: str
    statement: str
    rule: rules.Rule | None = None  # None: SingleStore accepts the statement
    values: dict[str, str] = field(default_factory=dict)  # placeholders of the rule's message
    setup: tuple[str, ...] = ()
    covers: str | None = None  # rule id an accepted row documents (e.g. version-bound rules)
    emulator_only: bool = False  # needs an emulator switch (no real-server equivalent)


CASES = [
    # --- CREATE TABLE: storage, shard and sort keys -----------------------------------------
    Case("columnstore-default", "CREATE TABLE x (a INT, b INT, SORT KEY (b), SHARD KEY (a))"),
    Case("rowstore", "CREATE ROWSTORE TABLE x (a INT PRIMARY KEY, b INT)"),
    Case("reference", "CREATE REFERENCE TABLE x (a INT PRIMARY KEY)"),
    Case("rowstore-reference", "CREATE ROWSTORE REFERENCE TABLE x (a INT PRIMARY KEY, b TEXT)"),
    Case("keyless", "CREATE TABLE x (a INT, b INT, SHARD KEY ())"),
    Case(
        "clustered-columnstore",
        "CREATE TABLE x (a INT, b INT, KEY (b) USING CLUSTERED COLUMNSTORE)",
    ),
    Case(
        "unique-contains-shard-key",
        "CREATE ROWSTORE TABLE x (a INT, b INT, UNIQUE KEY uk (a, b), SHARD KEY (a))",
    ),
    Case(
        "unique-misses-shard-key",
        "CREATE ROWSTORE TABLE x (a INT, b INT, UNIQUE KEY uk (b), SHARD KEY (a))",
        rules.SHARD_UNIQUE,
        {"key": "uk"},
    ),
    Case(
        "columnstore-unique-misses-shard-key",
        "CREATE TABLE x (a INT, b INT, UNIQUE KEY ub (b), SHARD KEY (a))",
        rules.SHARD_UNIQUE,
        {"key": "ub"},
    ),
    Case(
        "reference-unique-anything",
        "CREATE REFERENCE TABLE x (a INT PRIMARY KEY, b INT, UNIQUE KEY ub (b))",
    ),
    Case(
        "empty-shard-key-with-primary",
        "CREATE ROWSTORE TABLE x (a INT PRIMARY KEY, SHARD KEY ())",
        rules.EMPTY_SHARD_KEY_UNIQUE,
        {"key": "PRIMARY"},
    ),
    Case("reference-without-pk", "CREATE REFERENCE TABLE x (a INT)", rules.REFERENCE_WITHOUT_PK),
    Case(
        "columnstore-two-uniques-one-wide",
        "CREATE TABLE x (a INT, b INT, c INT, UNIQUE KEY u1 (a, b), UNIQUE KEY u2 (a), "
        "SHARD KEY (a))",
        rules.COLUMNSTORE_MULTI_UNIQUE,
    ),
    Case(
        "unenforced-unique-accepted",
        "CREATE TABLE x (a INT, b INT, UNIQUE KEY ub (b) UNENFORCED RELY, SHARD KEY (a))",
        covers="S2-UNENFORCED",
    ),
    Case("float-primary-key", "CREATE TABLE x (a DOUBLE PRIMARY KEY)", rules.FLOAT_PRIMARY_KEY),
    Case("float-primary-key-rowstore", "CREATE ROWSTORE TABLE x (a DOUBLE PRIMARY KEY)"),
    Case(
        "duplicate-hash-index",
        "CREATE TABLE x (a INT, b INT, KEY k1 (a) USING HASH, KEY k2 (a) USING HASH)",
        rules.HASH_DUPLICATE,
    ),
    Case(
        "foreign-key-accepted-unenforced",
        "CREATE ROWSTORE REFERENCE TABLE child (id INT PRIMARY KEY, p INT, "
        "FOREIGN KEY (p) REFERENCES parent (id))",
        setup=("CREATE ROWSTORE REFERENCE TABLE parent (id INT PRIMARY KEY)",),
        covers=rules.FOREIGN_KEY_SYNTAX.id,  # refused before 8.1 only; we emulate 8.9
    ),
    # --- ALTER TABLE on columnstore tables -----------------------------------------------
    Case("alter-add-nullable-column", "ALTER TABLE t ADD COLUMN d INT NULL", setup=(SHARDED,)),
    Case("alter-add-plain-key", "ALTER TABLE t ADD KEY kb (b)", setup=(SHARDED,)),
    Case(
        "alter-type",
        "ALTER TABLE t MODIFY COLUMN b BIGINT",
        rules.ALTER_COLUMN_TYPE,
        {"column": "b"},
        setup=(SHARDED,),
    ),
    Case(
        "alter-not-null",
        "ALTER TABLE t MODIFY COLUMN a INT NOT NULL",
        rules.ALTER_NULL_TO_NOT_NULL,
        {"column": "a"},
        setup=(SHARDED,),
    ),
    Case(
        "alter-add-unique",
        "ALTER TABLE t ADD UNIQUE KEY uk (id, b)",
        rules.ALTER_ADD_UNIQUE,
        {"index": "uk"},
        setup=(SHARDED,),
    ),
    Case(
        "alter-drop-primary",
        "ALTER TABLE t DROP PRIMARY KEY",
        rules.ALTER_PRIMARY,
        setup=(SHARDED,),
    ),
    Case(
        "alter-drop-shard-column",
        "ALTER TABLE s DROP COLUMN a",
        rules.ALTER_DROP_SHARD,
        {"index": "__SHARDKEY"},
        setup=(EXPLICIT_SHARD,),
    ),
    Case(
        "alter-add-auto-increment",
        "ALTER TABLE t MODIFY COLUMN id BIGINT NOT NULL AUTO_INCREMENT",
        rules.ALTER_AUTO_INCREMENT_COLUMN,
        {"column": "id"},
        setup=(SHARDED,),
    ),
    Case(
        "alter-auto-increment-value",
        "ALTER TABLE t AUTO_INCREMENT = 100",
        rules.ALTER_AUTO_INCREMENT_VALUE,
        setup=(SHARDED,),
    ),
    Case(
        "alter-comment",
        "ALTER TABLE t COMMENT = 'facts'",
        rules.ALTER_TABLE_COMMENT,
        setup=(SHARDED,),
    ),
    Case(
        "add-primary-key-later",
        "ALTER TABLE k ADD PRIMARY KEY (id)",
        rules.ADD_PRIMARY_KEY,
        setup=("CREATE ROWSTORE TABLE k (id BIGINT NOT NULL, a INT)",),
    ),
    Case(
        "rename-reference-auto-increment",
        "ALTER TABLE r CHANGE id id2 BIGINT AUTO_INCREMENT",
        rules.RENAME_REFERENCE_AUTOINC,
        setup=(REFERENCE,),
    ),
    Case(
        "rename-only-change-reference-auto-increment",
        "ALTER TABLE r CHANGE id id2",
        rules.RENAME_REFERENCE_AUTOINC,
        setup=(REFERENCE,),
    ),
    Case("rename-only-change", "ALTER TABLE t CHANGE c c2", setup=(SHARDED,)),
    Case("rename-only-change-reference", "ALTER TABLE r CHANGE a `a 2`", setup=(REFERENCE,)),
    Case("aggregator-sync-auto-increment", "AGGREGATOR SYNC AUTO_INCREMENT"),
    # --- transactions and DML ------------------------------------------------------------
    Case("savepoint", "SAVEPOINT s1", rules.SAVEPOINT, setup=("BEGIN",)),
    Case("rollback-to-savepoint", "ROLLBACK TO SAVEPOINT s1", rules.SAVEPOINT, setup=("BEGIN",)),
    Case("release-savepoint", "RELEASE SAVEPOINT s1", rules.SAVEPOINT, setup=("BEGIN",)),
    Case(
        "update-shard-key",
        "UPDATE t SET id = 5 WHERE id = 1",
        rules.UPDATE_SHARD_KEY,
        setup=(SHARDED, "INSERT INTO t (id, a, b) VALUES (1, 1, 1)"),
    ),
    Case(
        "update-other-column",
        "UPDATE t SET b = 5 WHERE id = 1",
        setup=(SHARDED, "INSERT INTO t (id, a, b) VALUES (1, 1, 1)"),
    ),
    Case(
        "update-limit",
        "UPDATE t SET b = 2 WHERE a = 1 LIMIT 1",
        rules.UPDATE_LIMIT,
        setup=(SHARDED,),
    ),
    Case(
        "update-reference-shard-free",
        "UPDATE r SET id = 7 WHERE id = 1",
        setup=(REFERENCE, "INSERT INTO r (id, a) VALUES (1, 1)"),
    ),
    Case(
        "reference-write-in-transaction-child-aggregator",
        "INSERT INTO r (a) VALUES (2)",
        rules.REFERENCE_WRITE_CHILD_AGGREGATOR,
        setup=(REFERENCE, "SET s2emu_child_aggregator = 1", "BEGIN"),
        emulator_only=True,
    ),
    Case(
        "reference-write-autocommit-child-aggregator",
        "INSERT INTO r (a) VALUES (2)",
        setup=(REFERENCE, "SET s2emu_child_aggregator = 1"),
        emulator_only=True,
    ),
    # --- query shapes (rules.SHAPE_RULES): each refused shape beside an accepted neighbour ----
    Case(
        "for-update-join-columnstore",
        "SELECT t.id FROM t JOIN r ON t.a = r.id FOR UPDATE",
        rules.FOR_UPDATE_JOIN,
        setup=(SHARDED, REFERENCE),
    ),
    Case(
        "for-update-subselect-columnstore",
        "SELECT t.id FROM t WHERE t.a IN (SELECT r.id FROM r) FOR UPDATE",
        rules.FOR_UPDATE_JOIN,
        setup=(SHARDED, REFERENCE),
    ),
    Case("for-update-one-table", "SELECT t.id FROM t WHERE t.id = 1 FOR UPDATE", setup=(SHARDED,)),
    Case(
        "join-without-for-update",
        "SELECT t.id FROM t JOIN r ON t.a = r.id",
        setup=(SHARDED, REFERENCE),
    ),
    Case(
        "for-update-join-rowstore",
        "SELECT ra.id FROM ra JOIN rb ON ra.a = rb.id FOR UPDATE",
        setup=(ROWSTORE_A, ROWSTORE_REFERENCE_B),
        covers=rules.FOR_UPDATE_JOIN.id,  # boundary guess: no columnstore table, accepted
    ),
    Case(
        "subselect-two-levels-up",
        "SELECT t.id, (SELECT (SELECT r.a FROM r WHERE r.id = t.a) FROM r AS r2 LIMIT 1) FROM t",
        rules.SUBSELECT_OUTER_LEVELS,
        setup=(SHARDED, REFERENCE),
    ),
    Case(
        "subselect-one-level-up",
        "SELECT t.id, (SELECT r.a FROM r WHERE r.id = t.a) FROM t",
        setup=(SHARDED, REFERENCE),
    ),
    Case(
        "subselect-two-levels-up-reference-only",
        "SELECT r.id, (SELECT (SELECT r3.a FROM r AS r3 WHERE r3.id = r.a) FROM r AS r2 LIMIT 1) "
        "FROM r",
        setup=(REFERENCE,),
        covers=rules.SUBSELECT_OUTER_LEVELS.id,  # boundary guess: reference tables only
    ),
    Case(
        "union-branches-in-subselect",
        "SELECT t.id FROM t WHERE ((SELECT r.a FROM r WHERE r.id = t.a) UNION "
        "(SELECT r.a FROM r WHERE r.id = t.b)) IS NOT NULL",
        rules.SUBSELECT_OUTER_LEVELS,
        setup=(SHARDED, REFERENCE),
    ),
    Case(
        "order-by-correlated-exists",
        "SELECT t.id FROM t ORDER BY EXISTS(SELECT 1 FROM r WHERE r.id = t.a) DESC",
        rules.SUBSELECT_OUTER_LEVELS,
        setup=(SHARDED, REFERENCE),
    ),
    Case(
        "order-by-correlated-exists-by-position",
        "SELECT t.id, EXISTS(SELECT 1 FROM r WHERE r.id = t.a) AS e FROM t ORDER BY 2 DESC",
        rules.SUBSELECT_OUTER_LEVELS,
        setup=(SHARDED, REFERENCE),
    ),
    Case(
        # The backend's rewrite of the two rows above: the subquery is a column of a derived
        # table, which is sorted by that column (docs/backend.md, "Query shapes").
        "order-by-derived-column",
        "SELECT * FROM (SELECT t.id AS col1, EXISTS(SELECT 1 FROM r WHERE r.id = t.a) AS "
        "__s2_order0 FROM t) AS s2_ordered ORDER BY __s2_order0 DESC",
        setup=(SHARDED, REFERENCE),
        covers=rules.SUBSELECT_OUTER_LEVELS.id,
    ),
    Case(
        "nested-outer-ref-in-where",
        "SELECT t.id FROM t WHERE t.a = (SELECT r.a FROM r WHERE r.id = (SELECT u.tid FROM u "
        "WHERE u.id = t.id LIMIT 1) LIMIT 1)",
        rules.SUBSELECT_OUTER_LEVELS,
        setup=(SHARDED, REFERENCE, SHARDED_U),
    ),
    Case(
        "filter-by-correlated-exists-order-by-column",
        "SELECT t.id FROM t WHERE EXISTS(SELECT 1 FROM r WHERE r.id = t.a) ORDER BY t.id",
        setup=(SHARDED, REFERENCE),
    ),
    Case(
        "having-subselect",
        "SELECT t.a, COUNT(*) FROM t GROUP BY t.a HAVING COUNT(*) > (SELECT COUNT(*) FROM r)",
        rules.SUBSELECT_OUTER_LEVELS,
        setup=(SHARDED, REFERENCE),
    ),
    Case(
        "having-plain",
        "SELECT t.a, COUNT(*) FROM t GROUP BY t.a HAVING COUNT(*) > 1",
        setup=(SHARDED,),
    ),
    Case(
        "group-by-correlated-select-item",
        "SELECT (SELECT COUNT(*) FROM r WHERE r.a = t.id) AS c, COUNT(*) FROM t GROUP BY 1",
        rules.SUBSELECT_GROUP_BY,
        setup=(SHARDED, REFERENCE),
    ),
    Case("group-by-column-item", "SELECT t.a, COUNT(*) FROM t GROUP BY 1", setup=(SHARDED,)),
    Case(
        "subselect-in-aggregate",
        "SELECT SUM(CASE WHEN t.a IN (SELECT r.id FROM r) THEN 1 ELSE 0 END) FROM t",
        rules.SUBSELECT_IN_AGGREGATE,
        setup=(SHARDED, REFERENCE),
    ),
    Case(
        "aggregate-beside-subselect-filter",
        "SELECT SUM(t.a) FROM t WHERE t.a IN (SELECT r.id FROM r)",
        setup=(SHARDED, REFERENCE),
    ),
    Case(
        "correlated-grouped-scalar-off-shard-key",
        "SELECT t.id, (SELECT COUNT(*) FROM u WHERE u.tid = t.id GROUP BY u.tid) FROM t",
        rules.CORRELATED_UNTRANSFORMABLE,
        setup=(SHARDED, SHARDED_U),
    ),
    Case(
        "correlated-grouped-scalar-on-shard-key",
        "SELECT t.id, (SELECT COUNT(*) FROM s WHERE s.a = t.id GROUP BY s.a) FROM t",
        setup=(SHARDED, EXPLICIT_SHARD),
    ),
    Case(
        "correlated-outer-column-in-select-list",
        "SELECT t.id, (SELECT t.a + u.tid FROM u ORDER BY 1 DESC LIMIT 1) FROM t",
        rules.CORRELATED_UNTRANSFORMABLE,
        setup=(SHARDED, SHARDED_U),
    ),
    Case(
        "correlated-exists-inside-case",
        "SELECT t.id FROM t WHERE CASE WHEN EXISTS(SELECT 1 FROM u WHERE u.tid = t.id) THEN 1 "
        "ELSE 0 END = 1",
        rules.CORRELATED_UNTRANSFORMABLE,
        setup=(SHARDED, SHARDED_U),
    ),
    Case(
        "correlated-exists-filter",
        "SELECT t.id FROM t WHERE EXISTS(SELECT 1 FROM u WHERE u.tid = t.id)",
        setup=(SHARDED, SHARDED_U),
    ),
    Case(
        "correlated-exists-in-group-by-columnstore",
        "SELECT MAX(t.a) FROM t GROUP BY t.b, EXISTS(SELECT 1 FROM u WHERE u.tid = t.id) "
        "ORDER BY 1",
        rules.CORRELATED_PROJECT_COLUMNSTORE,
        setup=(SHARDED, SHARDED_U),
    ),
    Case(
        "correlated-exists-in-group-by-rowstore",
        "SELECT MAX(ra.a) FROM ra GROUP BY ra.b, EXISTS(SELECT 1 FROM ra AS ra2 WHERE "
        "ra2.a = ra.id) ORDER BY 1",
        setup=(ROWSTORE_A,),
        covers=rules.CORRELATED_PROJECT_COLUMNSTORE.id,  # the text names columnstore
    ),
    Case(
        "correlated-top-1-on-expression",
        "SELECT t.id, (SELECT u.id FROM u WHERE (u.tid + 1) = (t.id + 1) ORDER BY 1 DESC "
        "LIMIT 1) FROM t",
        rules.SUBQUERY_MORE_THAN_ONE_ROW,
        {"leaf": "127.0.0.1:3307"},
        setup=(SHARDED, SHARDED_U),
    ),
    Case(
        "correlated-top-1-on-column",
        "SELECT t.id, (SELECT u.id FROM u WHERE u.tid = t.id ORDER BY 1 DESC LIMIT 1) FROM t",
        setup=(SHARDED, SHARDED_U),
    ),
    Case(
        "select-in-values",
        "INSERT INTO t (id, a) VALUES (1, (SELECT MAX(r.id) FROM r))",
        rules.SELECT_IN_VALUES,
        setup=(SHARDED, REFERENCE),
    ),
    Case(
        "insert-select",
        "INSERT INTO t (id, a) SELECT 1, MAX(r.id) FROM r",
        setup=(SHARDED, REFERENCE),
    ),
    Case(
        "order-by-collate",
        "SELECT t.c FROM t ORDER BY t.c COLLATE utf8mb4_bin",
        rules.ORDER_BY_COLLATE,
        setup=(SHARDED,),
    ),
    Case("select-collate", "SELECT t.c COLLATE utf8mb4_bin FROM t", setup=(SHARDED,)),
    Case("sha2-224", "SELECT SHA2('abc', 224)", rules.SHA224),
    Case("sha2-256", "SELECT SHA2('abc', 256)"),
    Case("char-above-127", "SELECT CHAR(201 USING utf16)", rules.CHAR_NON_ASCII),
    Case("char-ascii", "SELECT CHAR(65)"),
    Case(
        "insert-date-before-1000",
        "INSERT INTO d (id, day) VALUES (1, '0999-06-15')",
        rules.DATE_BEFORE_1000,
        setup=(DATES,),
    ),
    Case(
        "update-datetime-before-1000",
        "UPDATE d SET at = '0999-06-15 10:00:00' WHERE id = 1",
        rules.DATE_BEFORE_1000,
        setup=(DATES,),
    ),
    Case(
        "insert-date-year-1000",
        "INSERT INTO d (id, day, at) VALUES (1, '1000-01-01', '1000-01-01 00:00:00')",
        setup=(DATES,),
    ),
    Case(
        "insert-rows-one-before-1000",
        "INSERT INTO d (id, at) VALUES (1, '2024-01-01 00:00:00'), (2, '0500-01-01 00:00:00')",
        rules.DATE_BEFORE_1000,
        setup=(DATES,),
    ),
    Case(
        "insert-early-date-text",
        "INSERT INTO d (id, note) VALUES (1, '0999-06-15')",
        setup=(DATES,),
    ),
    Case(
        "compare-with-early-date", "SELECT d.id FROM d WHERE d.day > '0999-01-01'", setup=(DATES,)
    ),
    Case("interval-times-number", "SELECT NOW() + INTERVAL 3 DAY * 2", rules.INTERVAL_ARITHMETIC),
    Case("interval-added", "SELECT NOW() + INTERVAL 6 DAY"),
    Case(
        # What Django's MySQL backend sends for F("duration") * F("number").
        "interval-column-times-column",
        "SELECT (INTERVAL t.a MICROSECOND * t.b) FROM t",
        rules.INTERVAL_ARITHMETIC,
        setup=(SHARDED,),
    ),
    Case(
        "interval-divided",
        "SELECT NOW() + INTERVAL 6 DAY / 2",
        rules.INTERVAL_ARITHMETIC,
    ),
    Case(
        # The backend's rendering: the duration's microseconds times the number.
        "microseconds-times-number",
        "SELECT CAST(ROUND((t.a) * (2.5)) AS SIGNED) FROM t",
        setup=(SHARDED,),
        covers=rules.INTERVAL_ARITHMETIC.id,
    ),
    Case("index-desc", "CREATE TABLE x (a INT, b INT, KEY kb (b DESC))", rules.INDEX_DESC),
    Case("create-index-desc", "CREATE INDEX kb ON t (b DESC)", rules.INDEX_DESC, setup=(SHARDED,)),
    Case("sort-key-desc", "CREATE TABLE x (a INT, b INT, SORT KEY (b DESC))"),
    Case("index-asc", "CREATE TABLE x (a INT, b INT, KEY kb (b ASC))"),
    Case(
        "union-limit-binds-to-last-part",
        "(SELECT t.id FROM t) UNION (SELECT t.id + 10 FROM t) LIMIT 2",
        setup=(SHARDED,),
        covers=rules.UNION_LIMIT.id,  # rows counted in test_union_limit_binds_to_the_last_part
    ),
]


def test_every_rule_has_a_row() -> None:
    covered = {c.rule.id for c in CASES if c.rule} | {c.covers for c in CASES if c.covers}
    every = set(rules.RULES) | set(rules.SHAPE_RULES)
    assert every <= covered, every - covered


def test_every_shape_rule_has_an_accepted_neighbour() -> None:
    """Each refused shape sits beside statements SingleStore accepts (over-refusing is a bug)."""
    accepted = sum(1 for c in CASES if c.rule is None and c.setup[:1] != ("BEGIN",))
    refused = {c.rule.id for c in CASES if isinstance(c.rule, rules.ShapeRule)}
    assert refused and accepted > len(refused)


def test_union_limit_binds_to_the_last_part(connection, admin) -> None:
    """S2-UNION-LIMIT: SingleStore ran ``(A) UNION (B) LIMIT 2`` as ``(A) UNION (B LIMIT 2)``."""
    database = new_database(admin)
    connection.select_db(database)
    try:
        with connection.cursor() as cursor:
            cursor.execute(SHARDED)
            cursor.execute("INSERT INTO t (id, a) VALUES (1, 1), (2, 2), (3, 3)")
            cursor.execute("(SELECT t.id FROM t) UNION (SELECT t.id + 10 FROM t) LIMIT 2")
            assert len(cursor.fetchall()) == 5
            cursor.execute(
                "SELECT * FROM ((SELECT t.id FROM t) UNION (SELECT t.id + 10 FROM t)) u LIMIT 2"
            )
            assert len(cursor.fetchall()) == 2
    finally:
        drop_database(admin, database)


@pytest.fixture(scope="module")
def connection(server):
    """One connection for the whole table; each row gets its own database."""
    connection = open_connection(server)
    yield connection
    connection.close()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_conformance(case: Case, connection, admin) -> None:
    if case.emulator_only and REAL_SERVER:
        pytest.skip("needs an emulator switch; a real server would have to be a child aggregator")
    database = new_database(admin)
    connection.select_db(database)
    try:
        with connection.cursor() as cursor:
            for statement in case.setup:
                cursor.execute(statement)
            if case.rule is None:
                cursor.execute(case.statement)
                return
            with pytest.raises(singlestoredb.Error) as caught:
                cursor.execute(case.statement)
    finally:
        connection.rollback()
        if not REAL_SERVER:
            with connection.cursor() as cursor:
                cursor.execute("SET s2emu_child_aggregator = 0")
        drop_database(admin, database)
    errno, message = caught.value.args[0], caught.value.args[1]
    if not REAL_SERVER or case.rule.errno_public:
        assert errno == case.rule.errno
    if not REAL_SERVER or case.rule.message_public:
        assert message == case.rule.format(**case.values)
