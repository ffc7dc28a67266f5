"""Sessions run at READ COMMITTED, SingleStore's only isolation level, through the real driver.

Under MariaDB's default (REPEATABLE READ) ``INSERT ... SELECT`` takes shared locks on the rows it
reads, so a concurrent writer of those rows waits: that hid races that happen on SingleStore.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from s2emulator import protocol
from tests.emulator.rawclient import RawClient

REAL_SERVER = bool(os.environ.get("S2_TEST_URL"))


def _level(connection) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@tx_isolation")
        (value,) = cursor.fetchone()
    return value.decode() if isinstance(value, bytes) else value


@pytest.mark.skipif(REAL_SERVER, reason="SingleStore's @@tx_isolation text is not recorded")
def test_every_session_is_read_committed_and_other_levels_change_nothing(scratch) -> None:
    _, connect = scratch
    connection = connect()
    assert _level(connection) == "READ-COMMITTED"
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE")
        cursor.execute("SET @@session.tx_isolation = 'REPEATABLE-READ', @x = 1")
        cursor.execute("SELECT @x")
        assert cursor.fetchone()[0] == 1
        cursor.execute("SET transaction_isolation = 'SERIALIZABLE'")
    assert _level(connection) == "READ-COMMITTED"
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert _level(connection) == "READ-COMMITTED"


def test_insert_select_does_not_block_a_concurrent_writer(scratch) -> None:
    _, connect = scratch
    reader, writer = connect(), connect()
    with reader.cursor() as cursor:
        cursor.execute("CREATE TABLE src (id BIGINT PRIMARY KEY, v INT)")
        cursor.execute("CREATE TABLE dst (id BIGINT PRIMARY KEY, v INT)")
        cursor.execute("INSERT INTO src (id, v) VALUES (1, 1), (2, 2), (3, 3)")
    reader.autocommit(False)
    with reader.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("INSERT INTO dst (id, v) SELECT id, v FROM src")
    outcome: dict[str, object] = {}

    def write() -> None:
        started = time.monotonic()
        try:
            with writer.cursor() as cursor:
                if not REAL_SERVER:  # MariaDB's wait, so a blocked writer fails fast here
                    cursor.execute("SET SESSION innodb_lock_wait_timeout = 3")
                cursor.execute("UPDATE src SET v = v + 10 WHERE id = 2")
            outcome["seconds"] = time.monotonic() - started
        except Exception as error:  # a lock wait timeout: the writer was blocked
            outcome["error"] = error

    thread = threading.Thread(target=write)
    thread.start()
    thread.join(timeout=10)
    try:
        assert not thread.is_alive(), "the writer is still waiting for INSERT ... SELECT's locks"
        assert "error" not in outcome, outcome
        assert outcome["seconds"] < 2
    finally:
        reader.rollback()
        thread.join()


@pytest.mark.skipif(REAL_SERVER, reason="SingleStore's @@tx_isolation text is not recorded")
def test_reset_connection_keeps_read_committed(server, scratch) -> None:
    db, _ = scratch
    client = RawClient(server["host"], server["port"], server["user"], server["password"], db)
    try:
        client.send(b"\x1f", 0)  # COM_RESET_CONNECTION: MariaDB resets the session's level
        assert client.read()[1][:1] == b"\x00"
        statement, _, _ = client.prepare("SELECT @@tx_isolation")
        assert client.execute(statement, []) == [["READ-COMMITTED"]]
    finally:
        client.close()


def test_a_refused_shape_is_refused_when_prepared(server, scratch) -> None:
    db, connect = scratch
    with connect().cursor() as cursor:
        cursor.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, a BIGINT)")
        cursor.execute("CREATE REFERENCE TABLE r (id BIGINT PRIMARY KEY)")
    client = RawClient(server["host"], server["port"], server["user"], server["password"], db)
    try:
        with pytest.raises(protocol.ServerError) as caught:
            client.prepare("SELECT t.id FROM t JOIN r ON t.a = r.id WHERE t.id = ? FOR UPDATE")
        assert "FOR UPDATE with subselect or join" in caught.value.message
        statement, _, _ = client.prepare("SELECT t.id FROM t WHERE t.id = ? FOR UPDATE")
        assert client.execute(statement, ["1"]) == []
    finally:
        client.close()
