"""SQL-text level checks of the emulator's translation and statement helpers (no server needed):
what must stay byte for byte, and the shapes the proxy recognises. Results on a real database
are covered by test_server.py."""

from __future__ import annotations

import pytest

from s2emulator import dialect, statements, surface
from s2emulator.sqltext import (
    first_keyword,
    significant,
    split_statements,
    tokenize,
)

VARIABLES = {"memsql_version": "8.9.3"}


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 'a::b', \"c:>d\", `e::$f` FROM t",
        "SELECT 1 -- ::$x\n",
        "SELECT /* @@memsql_version */ 2",
        "INSERT INTO t VALUES ('JSON_EXTRACT_STRING(x, 1)')",
        "SELECT @x := 1",
        "SELECT VERSION_TOKENS(), my_version() FROM t",
        "SELECT 'ANY_VALUE(x)', `ANY_VALUE`(a), a AS any_value, my_any_value(b) FROM t",
    ],
)
def test_nothing_to_translate_outside_literals(sql: str) -> None:
    assert dialect.translate(sql, VARIABLES) is None


def test_any_value_becomes_min_only_as_a_function_call() -> None:
    sql = (
        "SELECT g, ANY_VALUE(`t`.`v`) AS v, any_value(v) OVER (), 'ANY_VALUE(v)' FROM t GROUP BY g"
    )
    assert dialect.needs_translation(sql.encode())
    assert dialect.translate(sql, VARIABLES) == (
        "SELECT g, MIN(`t`.`v`) AS v, MIN(v) OVER (), 'ANY_VALUE(v)' FROM t GROUP BY g"
    )


def test_operators_bind_to_the_primary_before_them() -> None:
    sql = "SELECT t.doc::a::$b, f(x)::%n + 1, (d)::c FROM t"
    out = dialect.translate(sql, VARIABLES)
    assert out is not None
    assert "JSON_EXTRACT(t.doc, '$.\"a\"')" in out
    assert "JSON_EXTRACT(f(x), '$.\"n\"')" in out
    assert out.endswith("+ 1, NULLIF(JSON_COMPACT(JSON_EXTRACT((d), '$.\"c\"')), 'null') FROM t")


def test_key_paths_literal_index_and_expression() -> None:
    out = dialect.translate("SELECT JSON_EXTRACT_JSON(j, 'a b', 0, k) FROM t", VARIABLES)
    assert out is not None
    assert "CONCAT('$.\"a b\"[0]', CONCAT('.\"', k, '\"'))" in out


def test_casts() -> None:
    out = dialect.translate("SELECT a :> BIGINT UNSIGNED, b !:> VARCHAR(10), c :> JSON", {})
    assert out == ("SELECT CAST(a AS UNSIGNED), CAST(b AS CHAR(10)), JSON_EXTRACT(c, '$')")


def test_variables_keep_their_column_names() -> None:
    out = dialect.translate("SELECT @@memsql_version, @@SESSION.memsql_version x", VARIABLES)
    assert out == "SELECT '8.9.3' AS `@@memsql_version`, '8.9.3' x"
    assert dialect.translate("SELECT VERSION()", {}) == (
        f"SELECT '{surface.PROTOCOL_SERVER_VERSION}' AS `VERSION()`"
    )
    assert dialect.translate("SELECT @@sql_mode", VARIABLES) is None


def test_first_keyword_skips_comments_and_parentheses() -> None:
    assert first_keyword(b"  /* hi */ -- x\n (select 1)") == "SELECT"
    assert first_keyword(b"# c\nALTER TABLE t") == "ALTER"
    assert first_keyword(b"") == ""


def test_split_statements_ignores_semicolons_in_literals() -> None:
    parts = split_statements(tokenize("SELECT ';'; UPDATE t SET a = 'x;y';"))
    assert [len(significant(p)) for p in parts] == [2, 6]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SET s2emu_shuffle_rows = 1", [("s2emu_shuffle_rows", "1")]),
        ("SET SESSION a = 'x', @@session.b := ON", [("a", "x"), ("b", "ON")]),
        ("SET NAMES utf8mb4 COLLATE utf8mb4_bin", [("names", "")]),
        ("SET NAMES utf8mb4, s2emu_shuffle_rows = 0", [("names", ""), ("s2emu_shuffle_rows", "0")]),
        ("SET CHARACTER SET utf8mb4", [("character set", "")]),
        ("SET NAMES", None),
        ("SET TRANSACTION ISOLATION LEVEL READ COMMITTED", None),
    ],
)
def test_set_assignments(sql: str, expected: list[tuple[str, str]] | None) -> None:
    found = statements.set_assignments(significant(tokenize(sql)))
    assert (None if found is None else [(a.name, a.value) for a in found]) == expected


def test_storage_columns_query_keeps_aliases() -> None:
    join = "(DERIVED)"
    plain = "SELECT STORAGE_TYPE FROM information_schema.TABLES WHERE 1"
    aliased = "SELECT t.distributed FROM INFORMATION_SCHEMA.tables t"
    other = "SELECT TABLE_NAME FROM information_schema.TABLES"
    assert statements.storage_columns_query(tokenize(plain), join) == (
        "SELECT STORAGE_TYPE FROM (DERIVED) AS `TABLES` WHERE 1"
    )
    assert statements.storage_columns_query(tokenize(aliased), join) == (
        "SELECT t.distributed FROM (DERIVED) t"
    )
    assert statements.storage_columns_query(tokenize(other), join) is None


def test_order_by_detection_ignores_subqueries() -> None:
    assert statements.has_order_by(tokenize("SELECT a FROM t ORDER BY a"))
    assert not statements.has_order_by(tokenize("SELECT a FROM (SELECT a FROM t ORDER BY a) s"))


def test_update_target_without_tokenizing() -> None:
    assert statements.update_target(b"UPDATE `my tbl` SET a = 1") == (None, "my tbl")
    assert statements.update_target(b"update ignore db.t set a = 1") == ("db", "t")


def test_integer_variables_answer_as_numbers() -> None:
    variables = {"table_name_case_sensitivity": "1", "memsql_version_hash": "00", "lvl": "8.0"}
    out = dialect.translate(
        "SELECT @@table_name_case_sensitivity, @@memsql_version_hash, @@lvl", variables
    )
    assert out == (
        "SELECT 1 AS `@@table_name_case_sensitivity`, '00' AS `@@memsql_version_hash`, "
        "'8.0' AS `@@lvl`"
    )


def test_argumentless_json_builders() -> None:
    out = dialect.translate("SELECT JSON_BUILD_OBJECT(), JSON_BUILD_ARRAY() FROM t", {})
    assert out == "SELECT JSON_OBJECT(), JSON_ARRAY() FROM t"
    assert dialect.translate("SELECT JSON_EXTRACT_STRING() FROM t", {}) is None


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("EXPLAIN JSON SELECT 1", "EXPLAIN FORMAT=JSON SELECT 1"),
        ("explain /* c */ json\nSELECT 'JSON'", "explain /* c */ FORMAT=JSON\nSELECT 'JSON'"),
        ("EXPLAIN JSON INTO OUTFILE '/tmp/x' SELECT 1", None),
        ("EXPLAIN SELECT json FROM t", None),
        ("SELECT json FROM t", None),
    ],
)
def test_explain_json(sql: str, expected: str | None) -> None:
    assert statements.explain_json(tokenize(sql)) == expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("AGGREGATOR SYNC AUTO_INCREMENT", True),
        ("aggregator sync auto_increment ALL", True),
        ("AGGREGATOR SYNC AUTO_INCREMENT ON `d b`.t ALL", True),
        ("AGGREGATOR SYNC AUTO_INCREMENT ON d", True),
        ("AGGREGATOR SYNC AUTO_INCREMENT ON", False),
        ("AGGREGATOR SYNC AUTO_INCREMENT ON d.t.u", False),
        ("AGGREGATOR SET VARIABLE x", False),
    ],
)
def test_aggregator_sync(sql: str, expected: bool) -> None:
    assert statements.is_aggregator_sync(significant(tokenize(sql))) is expected


def test_lead_lag_default_keeps_the_window() -> None:
    sql = "SELECT LEAD(x, 1, 'd') OVER (ORDER BY b) AS n, lag(x, 2, 0) over w FROM t"
    assert dialect.translate(sql, {}) == (
        "SELECT IF(LEAD(1, 1) OVER (ORDER BY b) IS NULL, 'd', LEAD(x, 1) OVER (ORDER BY b)) AS n, "
        "IF(lag(1, 2) OVER w IS NULL, 0, lag(x, 2) OVER w) FROM t"
    )
    assert (
        dialect.translate("SELECT LEAD(x, 1) OVER w, LAG(x) OVER (ORDER BY b) FROM t", {}) is None
    )
