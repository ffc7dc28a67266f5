"""The emulator as a server: handshake, variables, concurrency, LOCAL INFILE, prepared statements,
SHOW CREATE TABLE, information_schema, the catalog, JSON translation and the fidelity switches.

Everything goes through the real ``singlestoredb`` driver (prepared statements through a tiny
binary-protocol client, since our drivers interpolate parameters). Tests marked by the
``s2emu`` fixture check emulator-only behaviour and skip under ``S2_TEST_URL``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import MySQLdb
import pytest
import singlestoredb

from django_singlestore import rules
from s2emulator import protocol, surface
from s2emulator.process import EmulatorProcess
from tests.emulator.rawclient import RawClient
from tests.emulator.scratchdb import drop_database, new_database, open_connection

REAL_SERVER = bool(os.environ.get("S2_TEST_URL"))


def fetch(connection: Any, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return list(cursor.fetchall())


def storage(connection: Any, db: str) -> dict[str, tuple[str, int]]:
    rows = fetch(
        connection,
        "SELECT TABLE_NAME, STORAGE_TYPE, DISTRIBUTED FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = %s",
        (db,),
    )
    return {name: (kind, int(distributed)) for name, kind, distributed in rows}


# --- protocol and variables -------------------------------------------------------------------


def test_handshake_advertises_singlestore_version(server: dict[str, Any]) -> None:
    with socket.create_connection((server["host"], server["port"]), timeout=5) as sock:
        data = sock.recv(4096)
    handshake = protocol.Handshake.parse(data[4:])
    assert handshake.server_version == surface.PROTOCOL_SERVER_VERSION
    if not REAL_SERVER:  # the emulator must read queries, so it offers neither TLS nor zlib
        assert not handshake.capabilities & (protocol.CLIENT_SSL | protocol.CLIENT_COMPRESS)


def test_version_and_memsql_version(scratch) -> None:
    _, connect = scratch
    connection = connect()
    assert fetch(connection, "SELECT VERSION()") == [(surface.PROTOCOL_SERVER_VERSION,)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@memsql_version, @@sql_mode")
        ((version, sql_mode),) = cursor.fetchall()
        names = [d[0] for d in cursor.description]
    assert names == ["@@memsql_version", "@@sql_mode"]
    assert rules.parse_version(version) >= (7, 0)
    assert isinstance(sql_mode, str)
    assert fetch(connection, "SELECT @@memsql_version AS v, 1 + 1") == [(version, 2)]


def test_mysqlclient_connects_too(server: dict[str, Any], scratch) -> None:
    db, _ = scratch
    connection = MySQLdb.connect(
        host=server["host"],
        port=server["port"],
        user=server["user"],
        password=server["password"],
        database=db,
    )
    try:
        assert connection.get_server_info() == surface.PROTOCOL_SERVER_VERSION
        cursor = connection.cursor()
        cursor.execute("SELECT @@memsql_version, DATABASE()")
        assert cursor.fetchone()[1] == db
    finally:
        connection.close()


def test_table_name_case_sensitivity(scratch) -> None:
    _, connect = scratch
    connection = connect()
    assert fetch(connection, "SELECT @@table_name_case_sensitivity") == [(1,)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@memsql_version_hash, @@GLOBAL.table_name_case_sensitivity AS t")
        ((version_hash, value),) = cursor.fetchall()
        assert [d[0] for d in cursor.description] == ["@@memsql_version_hash", "t"]
    assert isinstance(version_hash, str) and value == 1


def test_read_only_singlestore_variable(scratch) -> None:
    _, connect = scratch
    with pytest.raises(singlestoredb.Error) as caught:
        fetch(connect(), "SET memsql_version = '1.0'")
    assert caught.value.args[0] == 1238


def test_any_value_aggregate(scratch) -> None:
    """Django 6.0's ``AnyValue`` emits ``ANY_VALUE(x)``: SingleStore has it, MariaDB does not.
    Any value of each group is a right answer; a string that spells the call stays a string."""
    _, connect = scratch
    connection = connect()
    fetch(connection, "CREATE TABLE grouped (id BIGINT PRIMARY KEY, g INT, v VARCHAR(10))")
    fetch(
        connection,
        "INSERT INTO grouped VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 2, 'c'), (4, 2, 'c')",
    )
    rows = fetch(
        connection,
        "SELECT g, ANY_VALUE(v), 'ANY_VALUE(v)' FROM grouped GROUP BY g ORDER BY g",
    )
    assert [(g, label) for g, _, label in rows] == [(1, "ANY_VALUE(v)"), (2, "ANY_VALUE(v)")]
    assert rows[0][1] in ("a", "b") and rows[1][1] == "c"
    with connection.cursor() as cursor:
        cursor.execute("SELECT ANY_VALUE(v) FROM grouped WHERE g = %s", (1,))
        assert cursor.fetchall()[0][0] in ("a", "b")


# --- concurrency, LOCAL INFILE, prepared statements -------------------------------------------


def test_concurrent_connections_are_independent(scratch) -> None:
    _, connect = scratch
    setup = connect()
    fetch(setup, "CREATE ROWSTORE TABLE hits (worker INT, n INT, SHARD KEY (worker))")
    results: dict[int, tuple[Any, ...]] = {}
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            connection = connect()
            fetch(connection, "SET @me = %s", (worker,))
            connection.begin()
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO hits VALUES (%s, %s)", [(worker, n) for n in range(50)]
                )
            connection.commit()
            results[worker] = fetch(
                connection, "SELECT @me, COUNT(*) FROM hits WHERE worker = @me"
            )[0]
        except BaseException as error:  # reported below, in the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert {w: (int(me), count) for w, (me, count) in results.items()} == {
        w: (w, 50) for w in range(8)
    }
    assert fetch(setup, "SELECT COUNT(*) FROM hits") == [(400,)]


def test_load_data_local_infile(scratch, tmp_path) -> None:
    _, connect = scratch
    connection = connect()
    fetch(connection, "CREATE TABLE facts (id BIGINT, label VARCHAR(64), SHARD KEY (id))")
    rows = 120_000  # ~6 MB: hundreds of packets, so sequence ids wrap past 255
    path = tmp_path / "facts.tsv"
    path.write_text("".join(f"{i}\tlabel number {i:020d} padding\n" for i in range(rows)))
    fetch(connection, f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE facts")
    assert fetch(connection, "SELECT COUNT(*), SUM(id) FROM facts") == [
        (rows, rows * (rows - 1) // 2)
    ]
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    fetch(connection, f"LOAD DATA LOCAL INFILE '{empty}' INTO TABLE facts")
    assert fetch(connection, "SELECT VERSION()") == [(surface.PROTOCOL_SERVER_VERSION,)]


def test_prepared_statements(server: dict[str, Any], scratch) -> None:
    db, _ = scratch
    client = RawClient(server["host"], server["port"], server["user"], server["password"], db)
    try:
        assert client.server_version == surface.PROTOCOL_SERVER_VERSION
        statement, columns, params = client.prepare(
            "SELECT CONCAT(?, '!'), JSON_EXTRACT_STRING(?, 'a')"
        )
        assert (columns, params) == (2, 2)
        assert client.execute(statement, ["hi", '{"a": "x"}']) == [["hi!", "x"]]
        assert client.execute(statement, ["again", "{}"]) == [["again!", None]]
        with pytest.raises(protocol.ServerError) as caught:
            client.prepare("SAVEPOINT s1")
        if not REAL_SERVER or rules.SAVEPOINT.errno_public:
            assert caught.value.errno == rules.SAVEPOINT.errno
    finally:
        client.close()


def test_prepared_foreign_key_is_accepted_and_not_enforced(server: dict[str, Any], scratch) -> None:
    """SingleStore keeps foreign keys as metadata at most; a prepared ALTER must not make the
    emulator's MariaDB enforce one."""
    db, connect = scratch
    with connect().cursor() as cursor:
        cursor.execute("CREATE ROWSTORE TABLE p (id BIGINT PRIMARY KEY)")
        cursor.execute("CREATE ROWSTORE TABLE c (id BIGINT PRIMARY KEY, pid BIGINT)")
    client = RawClient(server["host"], server["port"], server["user"], server["password"], db)
    try:
        statement, _, _ = client.prepare(
            "ALTER TABLE c ADD CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id)"
        )
        client.execute(statement, [])
    finally:
        client.close()
    with connect().cursor() as cursor:
        cursor.execute("INSERT INTO c VALUES (1, 42)")  # no parent 42: still accepted
        cursor.execute("SELECT pid FROM c")
        assert cursor.fetchall() == [(42,)]


def test_multi_statement_queries_are_checked_and_translated(scratch) -> None:
    _, connect = scratch
    connection = connect(multi_statements=True)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE m (id INT, doc JSON, SHARD KEY (id)); SELECT 1")
        cursor.execute('INSERT INTO m VALUES (1, \'{"a": "b;c"}\'); SELECT doc::$a FROM m')
        assert cursor.nextset()
        assert list(cursor.fetchall()) == [("b;c",)]
        cursor.execute("SELECT 1; AGGREGATOR SYNC AUTO_INCREMENT; ALTER TABLE m CHANGE doc d")
        while cursor.nextset():
            pass
        cursor.execute("SELECT d::$a FROM m")
        assert list(cursor.fetchall()) == [("b;c",)]
        with pytest.raises(singlestoredb.Error) as caught:
            cursor.execute("SELECT 1; SAVEPOINT s1")
    if not REAL_SERVER or rules.SAVEPOINT.errno_public:
        assert caught.value.args[0] == rules.SAVEPOINT.errno


# --- SHOW CREATE TABLE, information_schema, catalog -------------------------------------------


def test_show_create_table(scratch) -> None:
    _, connect = scratch
    connection = connect()
    fetch(connection, "CREATE TABLE f (a BIGINT NOT NULL, b INT, SHARD KEY (a), SORT KEY (b))")
    fetch(connection, "CREATE REFERENCE TABLE r (id INT PRIMARY KEY, name VARCHAR(20))")
    ((name, text),) = fetch(connection, "SHOW CREATE TABLE f")
    assert name == "f"
    assert "SHARD KEY `__SHARDKEY` (`a`)" in text
    assert "SORT KEY" in text and "(`b`)" in text
    ((_, text),) = fetch(connection, "SHOW CREATE TABLE r")
    assert text.startswith("CREATE REFERENCE TABLE `r`")
    assert "SHARD KEY" not in text


def test_information_schema_storage_columns(scratch) -> None:
    db, connect = scratch
    connection = connect()
    fetch(connection, "CREATE TABLE col (a INT, SHARD KEY (a))")
    fetch(connection, "CREATE ROWSTORE TABLE row_t (a INT PRIMARY KEY)")
    fetch(connection, "CREATE REFERENCE TABLE ref (a INT PRIMARY KEY)")
    fetch(connection, "CREATE ROWSTORE REFERENCE TABLE rowref (a INT PRIMARY KEY)")
    assert storage(connection, db) == {
        "col": ("COLUMNSTORE", 1),
        "row_t": ("INMEMORY_ROWSTORE", 1),
        "ref": ("COLUMNSTORE", 0),
        "rowref": ("INMEMORY_ROWSTORE", 0),
    }
    aliased = fetch(
        connection,
        "SELECT t.table_name, t.distributed FROM information_schema.tables AS t "
        "WHERE t.table_schema = %s AND t.storage_type = 'INMEMORY_ROWSTORE'",
        (db,),
    )
    assert sorted((n, int(d)) for n, d in aliased) == [("row_t", 1), ("rowref", 0)]


def test_catalog_follows_rename_and_drop(scratch) -> None:
    db, connect = scratch
    connection = connect()
    fetch(connection, "CREATE REFERENCE TABLE r (a INT PRIMARY KEY)")
    fetch(connection, "RENAME TABLE r TO r2")
    assert storage(connection, db) == {"r2": ("COLUMNSTORE", 0)}
    fetch(connection, "ALTER TABLE r2 RENAME TO r3")
    assert storage(connection, db) == {"r3": ("COLUMNSTORE", 0)}
    fetch(connection, "DROP TABLE r3")
    fetch(connection, "CREATE ROWSTORE TABLE r3 (a INT PRIMARY KEY)")
    assert storage(connection, db) == {"r3": ("INMEMORY_ROWSTORE", 1)}


def test_rename_only_change_renames_the_column(scratch) -> None:
    _, connect = scratch
    connection = connect()
    fetch(connection, "CREATE REFERENCE TABLE r (id BIGINT PRIMARY KEY, old_name VARCHAR(10))")
    fetch(connection, "INSERT INTO r VALUES (1, 'x')")
    fetch(connection, "ALTER TABLE r CHANGE old_name `new name`")
    assert fetch(connection, "SELECT id, `new name` FROM r") == [(1, "x")]
    fetch(connection, "ALTER TABLE r CHANGE COLUMN `new name` third, ADD COLUMN n INT")
    assert fetch(connection, "SELECT third, n FROM r") == [("x", None)]


def test_catalog_follows_column_rename(s2emu, scratch) -> None:
    _, connect = scratch
    connection = connect()
    fetch(connection, "CREATE TABLE f (a BIGINT NOT NULL, b INT, SHARD KEY (a), SORT KEY (b))")
    fetch(connection, "ALTER TABLE f CHANGE a a2, CHANGE b b2")
    ((_, text),) = fetch(connection, "SHOW CREATE TABLE f")
    assert "SHARD KEY `__SHARDKEY` (`a2`)" in text
    assert "SORT KEY `b2` (`b2`)" in text
    with pytest.raises(singlestoredb.Error) as caught:  # judged against the renamed shard key
        fetch(connection, "UPDATE f SET a2 = 1")
    assert caught.value.args[0] == rules.UPDATE_SHARD_KEY.errno


def test_aggregator_sync_auto_increment(scratch) -> None:
    db, connect = scratch
    connection = connect()
    fetch(connection, "CREATE TABLE a (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT)")
    fetch(connection, "BEGIN")
    fetch(connection, "INSERT INTO a VALUES (10, 1)")
    fetch(connection, f"AGGREGATOR SYNC AUTO_INCREMENT ON `{db}`.a ALL")
    fetch(connection, "ROLLBACK")  # the sync committed the insert
    fetch(connection, "INSERT INTO a (v) VALUES (2)")
    ids = [row[0] for row in fetch(connection, "SELECT id FROM a ORDER BY id")]
    assert ids[0] == 10 and ids[1] > 10
    fetch(connection, f"AGGREGATOR SYNC AUTO_INCREMENT ON {db}")
    fetch(connection, "AGGREGATOR SYNC AUTO_INCREMENT")


def test_explain_json(scratch) -> None:
    _, connect = scratch
    connection = connect()
    fetch(connection, "CREATE TABLE e (id BIGINT, doc JSON, SHARD KEY (id))")
    rows = fetch(connection, "EXPLAIN JSON SELECT id, doc::$a FROM e WHERE id = 1")
    assert isinstance(json.loads("".join(row[0] for row in rows)), dict)


def test_lead_lag_with_a_default(scratch) -> None:
    _, connect = scratch
    connection = connect()
    fetch(connection, "CREATE TABLE w (id BIGINT, v INT, SHARD KEY (id))")
    fetch(connection, "INSERT INTO w VALUES (1, 10), (2, NULL), (3, 30)")
    rows = fetch(
        connection,
        "SELECT id, LEAD(v, 1, -1) OVER (ORDER BY id) AS n, "
        "LAG(v, 2, -2) OVER (ORDER BY id) AS p FROM w ORDER BY id",
    )
    assert rows == [(1, None, -2), (2, 30, -2), (3, -1, 10)]  # a NULL neighbour stays NULL


def test_current_database_follows_use_and_init_db(server: dict[str, Any], scratch) -> None:
    db, connect = scratch
    connection = connect()
    other = f"s2emu_t_{uuid.uuid4().hex[:12]}"
    fetch(connection, f"CREATE DATABASE {other}")
    try:
        connection.select_db(other)  # COM_INIT_DB
        fetch(connection, "CREATE REFERENCE TABLE r (a INT PRIMARY KEY)")
        fetch(connection, f"USE {db}")  # COM_QUERY
        fetch(connection, "CREATE ROWSTORE TABLE r (a INT PRIMARY KEY)")
        assert storage(connection, other) == {"r": ("COLUMNSTORE", 0)}
        assert storage(connection, db) == {"r": ("INMEMORY_ROWSTORE", 1)}
    finally:
        fetch(connection, f"DROP DATABASE {other}")


# --- JSON and casts ---------------------------------------------------------------------------

DOC = '{"a": {"b": [1, "x y", {"c": null}], "n": 1.5, "t": true, "s": "str"}}'

JSON_CASES = [
    ("JSON_EXTRACT_STRING(doc, 'a', 'b', 1)", "x y"),
    ("JSON_EXTRACT_STRING(doc, 'a', 'b', 0)", "1"),
    ("JSON_EXTRACT_STRING(doc, 'a', 's')", "str"),
    ("JSON_EXTRACT_STRING(doc, 'a', 'b', 2)", '{"c":null}'),
    ("JSON_EXTRACT_STRING(doc, 'a', 'b', 2, 'c')", None),
    ("JSON_EXTRACT_STRING(doc, 'missing')", None),
    ("JSON_EXTRACT_JSON(doc, 'a', 'b')", '[1,"x y",{"c":null}]'),
    ("JSON_EXTRACT_DOUBLE(doc, 'a', 'n')", 1.5),
    ("JSON_EXTRACT_BIGINT(doc, 'a', 'n')", 2),
    ("JSON_EXTRACT_BIGINT(doc, 'a', 't')", 1),
    ("JSON_EXTRACT_BIGINT(doc, 'a', 's')", 0),
    ("doc::a::$s", "str"),
    ("doc::a::%n + 1", 2.5),
    ("doc::a::b", '[1,"x y",{"c":null}]'),
    ("JSON_EXTRACT_STRING(JSON_SET_STRING(doc, 'a', 's', 'new'), 'a', 's')", "new"),
    ("JSON_MATCH_ANY_EXISTS(doc, 'a', 'b')", 1),
    ("JSON_MATCH_ANY_EXISTS(doc, 'a', 'zz')", 0),
    ("JSON_BUILD_OBJECT()", "{}"),
    ("'12' :> INT + 1", 13),
    ("doc::a::%n :> BIGINT", 2),
]


@pytest.fixture(scope="module")
def json_table(server: dict[str, Any], admin: Any) -> Iterator[Any]:
    """A connection whose database holds table ``j`` with one JSON document."""
    name = new_database(admin)
    connection = open_connection(server, database=name)
    fetch(connection, "CREATE TABLE j (id INT, doc JSON, SHARD KEY (id))")
    fetch(connection, "INSERT INTO j VALUES (1, %s)", (DOC,))
    yield connection
    connection.close()
    drop_database(admin, name)


@pytest.mark.parametrize(("expression", "expected"), JSON_CASES, ids=[c[0] for c in JSON_CASES])
def test_json_functions_and_operators(json_table: Any, expression: str, expected: Any) -> None:
    ((value,),) = fetch(json_table, f"SELECT {expression} FROM j WHERE id = 1")
    if isinstance(expected, float):
        assert float(value) == expected
    elif isinstance(expected, int):
        assert int(value) == expected
    else:
        assert value == expected


def test_json_in_ddl_expressions(scratch) -> None:
    _, connect = scratch
    connection = connect()
    fetch(connection, "CREATE TABLE p (id INT, doc JSON, name AS doc::$name PERSISTED TEXT)")
    fetch(connection, """INSERT INTO p (id, doc) VALUES (1, '{"name": "ann"}')""")
    fetch(connection, "CREATE TABLE q AS SELECT id, JSON_EXTRACT_STRING(doc, 'name') AS n FROM p")
    assert fetch(connection, "SELECT p.name, q.n FROM p JOIN q ON q.id = p.id") == [("ann", "ann")]


# --- emulator-only: switches, restart, CLI ----------------------------------------------------


def test_switch_variables_are_per_session(s2emu, scratch) -> None:
    _, connect = scratch
    first, second = connect(), connect()
    fetch(first, "SET s2emu_shuffle_rows = 1")
    assert fetch(first, "SELECT @@s2emu_shuffle_rows, @@s2emu_child_aggregator") == [(1, 0)]
    assert fetch(second, "SELECT @@s2emu_shuffle_rows") == [(0,)]
    # Beside a part MariaDB must see: the switch is taken, the rest forwarded.
    fetch(second, "SET NAMES utf8mb4 COLLATE utf8mb4_bin, s2emu_shuffle_rows = 1")
    assert fetch(second, "SELECT @@s2emu_shuffle_rows, @@collation_connection") == [
        (1, "utf8mb4_bin")
    ]


def test_shuffle_rows_switch(s2emu, scratch) -> None:
    _, connect = scratch
    connection = connect()
    fetch(connection, "CREATE ROWSTORE TABLE s (id INT PRIMARY KEY)")
    with connection.cursor() as cursor:
        cursor.executemany("INSERT INTO s VALUES (%s)", [(i,) for i in range(200)])
    ordered = [(i,) for i in range(200)]
    assert fetch(connection, "SELECT id FROM s") == ordered  # MariaDB: primary-key order
    fetch(connection, "SET s2emu_shuffle_rows = 1")
    shuffled = fetch(connection, "SELECT id FROM s")
    assert shuffled != ordered and sorted(shuffled) == ordered
    assert fetch(connection, "SELECT id FROM s ORDER BY id") == ordered


def test_scatter_auto_increment_switch(s2emu, scratch) -> None:
    _, connect = scratch
    connection = connect()
    fetch(connection, "SET s2emu_scatter_auto_increment = 1")
    fetch(connection, "CREATE TABLE a (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT)")
    fetch(connection, "INSERT INTO a (v) VALUES (1), (2)")
    ids = sorted(row[0] for row in fetch(connection, "SELECT id FROM a"))
    assert ids[0] >= 1 << 20 and ids[1] > ids[0]


def test_drop_database_clears_catalog(s2emu, server: dict[str, Any]) -> None:
    name = f"s2emu_t_{uuid.uuid4().hex[:12]}"
    connection = open_connection(server)
    fetch(connection, f"CREATE DATABASE {name}")
    fetch(connection, f"CREATE REFERENCE TABLE {name}.r (a INT PRIMARY KEY)")
    query = "SELECT COUNT(*) FROM s2emu_catalog.tables WHERE db = %s"
    assert fetch(connection, query, (name,)) == [(1,)]
    fetch(connection, f"DROP DATABASE {name}")
    assert fetch(connection, query, (name,)) == [(0,)]


def test_create_database_forgets_stale_layouts(s2emu, server: dict[str, Any]) -> None:
    name = f"s2emu_t_{uuid.uuid4().hex[:12]}"
    connection = open_connection(server)
    fetch(connection, f"CREATE DATABASE {name}")
    fetch(connection, f"CREATE REFERENCE TABLE {name}.r (a INT PRIMARY KEY)")
    # The database disappears behind the emulator's back, then comes back empty.
    backend = MySQLdb.connect(host="127.0.0.1", port=3306, user="root")
    backend.cursor().execute(f"DROP DATABASE {name}")
    fetch(connection, f"CREATE DATABASE IF NOT EXISTS {name}")
    backend.cursor().execute(f"CREATE TABLE {name}.r (a INT PRIMARY KEY)")
    backend.close()
    fetch(connection, f"CREATE DATABASE IF NOT EXISTS {name}")  # exists: nothing to forget
    assert storage(connection, name) == {"r": ("COLUMNSTORE", 1)}
    ((_, text),) = fetch(connection, f"SHOW CREATE TABLE {name}.r")
    assert text.startswith("CREATE TABLE `r`")
    fetch(connection, f"DROP DATABASE {name}")


def test_catalog_survives_restart_and_cli_switch(s2emu, server: dict[str, Any]) -> None:
    name = f"s2emu_t_{uuid.uuid4().hex[:12]}"
    backend = s2emu.backend
    with EmulatorProcess(backend) as first:
        params = {**server, "host": first.host, "port": first.port}
        connection = open_connection(params)
        fetch(connection, f"CREATE DATABASE {name}")
        fetch(connection, f"CREATE REFERENCE TABLE {name}.r (a INT PRIMARY KEY)")
        connection.close()
    with EmulatorProcess(backend, ["--child-aggregator"]) as second:
        params = {**server, "host": second.host, "port": second.port}
        connection = open_connection(params, database=name)
        ((_, text),) = fetch(connection, "SHOW CREATE TABLE r")
        assert text.startswith("CREATE REFERENCE TABLE")
        connection.begin()
        with pytest.raises(singlestoredb.Error) as caught:
            fetch(connection, "INSERT INTO r VALUES (1)")
        assert caught.value.args[0] == rules.REFERENCE_WRITE_CHILD_AGGREGATOR.errno
        connection.rollback()
        fetch(connection, "INSERT INTO r VALUES (1)")  # autocommit: allowed
        fetch(connection, f"DROP DATABASE {name}")
        connection.close()


@pytest.mark.parametrize(
    "args",
    [["--backend", "postgres://nobody@127.0.0.1"], ["--listen", "nowhere"]],
    ids=["bad-backend-url", "bad-listen"],
)
def test_cli_usage_errors_exit_2(s2emu, args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "s2emulator", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "error:" in done.stderr


def test_a_result_bigger_than_the_buffers_reaches_a_slow_client_whole(s2emu, scratch) -> None:
    """Past the write high-water mark the pump stops bypassing, waits for the client, and goes
    on: every row arrives, in order, and the session answers the next query. (``seq_1_to_N`` is
    MariaDB's sequence engine: emulator-only.)"""
    name, _ = scratch
    client = RawClient(s2emu.host, s2emu.port, "s2kit", "s2kit", name)
    try:
        client.send(b"\x03SELECT seq, REPEAT('x', 4000) FROM seq_1_to_3000", 0)
        time.sleep(1.5)  # ~12 MB wait in the emulator and the socket buffers
        _, head = client.read()
        for _ in range(head[0] + 1):  # column definitions, then EOF (no CLIENT_DEPRECATE_EOF)
            client.read()
        packets = []
        while True:
            _, payload = client.read()
            if payload[:1] in (b"\xfe", b"\x00") and len(payload) < 9:
                break
            packets.append(payload)
        assert len(packets) == 3000
        assert [int(p[1 : 1 + p[0]]) for p in packets[:3] + packets[-1:]] == [1, 2, 3, 3000]
        assert all(p.endswith(b"x" * 4000) for p in packets)
        client.send(b"\x03SELECT 41 + 1", 0)
        count, _, _, row, end = (client.read()[1] for _ in range(5))
        assert count == b"\x01" and row == b"\x0242" and end[:1] == b"\xfe"
    finally:
        client.close()
