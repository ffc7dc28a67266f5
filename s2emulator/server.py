"""The emulator's asyncio proxy: one :class:`Session` per client connection.

Bytes flow through untouched in both directions. Client packets that start a command (sequence
id 0, outside a LOCAL INFILE upload) are looked at: ``COM_QUERY``, ``COM_STMT_PREPARE`` and
``COM_INIT_DB``; everything else is forwarded as is. A query is only tokenized when its first
keyword or a cheap byte search says it may concern the emulator (DDL, SAVEPOINT, SingleStore
functions, ``@@`` variables, ...). The server-to-client direction is copied verbatim unless the
session asked to *watch* one reply (to update the catalog after DDL, to rewrite SHOW CREATE
TABLE, to shuffle rows, or to read the answer of its own probe query).

Why one long module: it is one class's state machine (a session's two pumps, the commands they
hand over, the replies they watch) whose methods share the session's state; the statement
knowledge lives elsewhere (:mod:`.ddl`, :mod:`.dialect`, :mod:`.shapes`, :mod:`.statements`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields, replace

from django_singlestore import rules

from . import ddl, dialect, shapes, statements, surface
from . import protocol as p
from .catalog import Catalog
from .sqltext import Token, first_keyword, join, significant, split_statements, tokenize
from .upstream import BackendClient, BackendURL, BypassReader, open_bypass_connection, read_packet

log = logging.getLogger("s2emulator")

READ_SIZE = 1 << 20
#: Stream buffer sizes: large, so that each time the emulator gets the CPU on a busy machine it
#: moves a lot of a big result set or upload instead of stalling the pipeline.
BUFFER = 1 << 22


@dataclass(frozen=True)
class Switches:
    """Fidelity switches: CLI defaults for every session, changeable per session with SET."""

    child_aggregator: bool = False  # error 2549 for reference-table writes in transactions
    scatter_auto_increment: bool = False  # new tables' AUTO_INCREMENT starts at a random offset
    shuffle_rows: bool = False  # rows of a SELECT without ORDER BY arrive in random order


#: ``SET s2emu_<switch> = 1`` / ``SELECT @@s2emu_<switch>`` names.
SWITCH_VARIABLES = {f"s2emu_{f.name}": f.name for f in fields(Switches)}

#: SingleStore session variables MariaDB lacks: accepted by SET, answered by SELECT @@name.
SESSION_VARIABLES: dict[str, str] = {
    **surface.SINGLESTORE_VARIABLES,
    "enable_extended_types_metadata": "OFF",
    "vector_type_project_format": "JSON",
}
READ_ONLY_VARIABLES = frozenset(n for n in surface.SINGLESTORE_VARIABLES if n.startswith("memsql_"))
#: SingleStore runs READ COMMITTED only (docs: /db/v9.1/introduction/faqs/durability: "What
#: isolation levels does SingleStore provide? ... READ COMMITTED"); every backend session is put
#: there before its first command. Requests for a level, the SET TRANSACTION statement or these
#: variables, are answered OK and change nothing: SingleStore ignores unsupported features it
#: can safely ignore (/db/v7.3/introduction/unsupported-mysql-features, warn_level).
READ_COMMITTED = "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"
ISOLATION_VARIABLES = frozenset({"tx_isolation", "transaction_isolation"})
#: Commands after which the session's isolation level is (re)set before the next one.
RESETS = frozenset({p.COM_QUIT, p.COM_CHANGE_USER, p.COM_RESET_CONNECTION})
#: A SET that names none of these (in any case) has no assignment of ours: it is forwarded
#: without being tokenized.
OWN_VARIABLE = re.compile(
    "|".join(
        re.escape(name) for name in (*SWITCH_VARIABLES, *SESSION_VARIABLES, "isolation")
    ).encode(),
    re.I,
)
#: Only ``ROLLBACK [WORK] TO ...`` (a savepoint: refused) matters; without a "to" anywhere in it,
#: a ROLLBACK is forwarded without being tokenized.
ROLLBACK_TO = re.compile(rb"to", re.I)

#: First keywords the emulator always looks at (others: see ``Session._worth_parsing``).
INSPECTED = frozenset(
    {
        "SHOW", "CREATE", "ALTER", "DROP", "RENAME", "SAVEPOINT", "RELEASE", "USE", "AGGREGATOR",
        "EXPLAIN",
    }
)  # fmt: skip
#: What ``AGGREGATOR SYNC AUTO_INCREMENT`` becomes: MariaDB's counters already stand past every
#: explicit id, so only the command's implicit commit is left to do.
AGGREGATOR_SYNC = "COMMIT"
#: Statements whose shape SingleStore's planner may refuse (``shapes.candidate`` decides).
SHAPED = frozenset({"SELECT", "WITH", "INSERT", "REPLACE", "UPDATE", "DELETE"})
#: Writes that matter only for error 2549 (child-aggregator mode).
WRITES = frozenset({"INSERT", "REPLACE", "DELETE", "LOAD"})
CHILD_AGGREGATOR_RULE = rules.REFERENCE_WRITE_CHILD_AGGREGATOR.id
#: The hot-path filter searches INSERT/REPLACE statements longer than this for SingleStore syntax
#: only before the first upper-case ``VALUES`` within this many bytes, if there is one: the rows
#: are data, and searching megabytes per statement costs.
BIG_INSERT = 1 << 16
#: information_schema.TABLES columns SingleStore adds, as spelled in queries (bytes search).
STORAGE_COLUMNS = (b"STORAGE_TYPE", b"storage_type", b"DISTRIBUTED", b"distributed")


class Response:
    """Incremental parser of one server reply (OK, ERR, text or binary result sets)."""

    def __init__(self, deprecate_eof: bool):
        self.deprecate_eof = deprecate_eof
        self.packets: list[tuple[int, bytes]] = []
        self.error: p.ServerError | None = None
        self.status = 0
        self.warnings = 0
        self.columns: list[bytes] = []
        self.rows: list[int] = []  # indexes into ``packets`` of row packets (first result set)
        self.result_sets = 0
        self._state = "first"
        self._columns_left = 0
        self._continued = False

    def feed(self, seq: int, payload: bytes) -> bool:
        """Add one physical packet; True once the reply is complete."""
        self.packets.append((seq, payload))
        if self._continued:  # continuation of a payload longer than 16 MiB
            self._continued = len(payload) == p.MAX_PAYLOAD
            return False
        self._continued = len(payload) == p.MAX_PAYLOAD
        state = self._state
        if state == "first":
            head = payload[0]
            if head == 0x00:
                self.status, self.warnings = p.ok_status_warnings(payload)
                return self._end()
            if head == 0xFF:
                self.error = p.ServerError.parse(payload)
                return True
            if head == 0xFB:  # LOCAL INFILE request: the rest of the exchange is not watched
                return True
            self.result_sets += 1
            self._columns_left, _ = p.read_lenenc_int(payload, 0)
            self._state = "columns"
        elif state == "columns":
            if self.result_sets == 1:
                self.columns.append(payload)
            self._columns_left -= 1
            if not self._columns_left:
                self._state = "rows" if self.deprecate_eof else "columns_eof"
        elif state == "columns_eof":
            self._state = "rows"
        elif payload[0] == 0xFF:
            self.error = p.ServerError.parse(payload)
            return True
        elif p.is_end_of_rows(payload):
            self.status = p.eof_status(payload, self.deprecate_eof)
            return self._end()
        elif self.result_sets == 1:
            self.rows.append(len(self.packets) - 1)
        return False

    def _end(self) -> bool:
        if self.status & p.SERVER_MORE_RESULTS_EXISTS:
            self._state = "first"
            return False
        return True

    def encode(self) -> bytes:
        return b"".join(p.header(len(payload), seq) + payload for seq, payload in self.packets)

    def row_values(self, index: int) -> list[bytes | None]:
        return p.decode_text_row(self.packets[self.rows[index]][1], len(self.columns))


@dataclass
class Watch:
    """A reply the session wants to see whole before the client does."""

    response: Response
    done: Callable[[Response], Awaitable[bytes | None]]


class Emulator:
    """Listens for clients and gives each a :class:`Session` against the backend."""

    def __init__(
        self,
        backend: BackendURL,
        switches: Switches | None = None,
        catalog_schema: str = "s2emu_catalog",
    ):
        self.backend = backend
        self.switches = switches or Switches()
        self.catalog = Catalog(BackendClient(backend), catalog_schema)
        self.server: asyncio.Server | None = None
        self.sessions: set[Session] = set()

    async def start(self, host: str, port: int) -> tuple[str, int]:
        await self.catalog.start()
        self.server = await asyncio.start_server(self._serve, host, port, limit=BUFFER)
        address = self.server.sockets[0].getsockname()
        return address[0], address[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for session in list(self.sessions):
            await session.close()
        await self.catalog.client.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(self, reader, writer)
        self.sessions.add(session)
        try:
            await session.run()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client or the backend went away, or the emulator is stopping
        except Exception:
            log.exception("session failed")
        finally:
            self.sessions.discard(session)
            await session.close()


class Rejected(Exception):
    """A statement SingleStore refuses: answered with an ERR packet, never sent to MariaDB."""

    def __init__(self, errno: int, sqlstate: str, message: str):
        super().__init__(message)
        self.errno, self.sqlstate, self.message = errno, sqlstate, message


class Session:
    """One client connection and its own backend connection."""

    def __init__(
        self,
        emulator: Emulator,
        client_reader: asyncio.StreamReader,
        client_writer: asyncio.StreamWriter,
    ):
        self.emulator = emulator
        self.catalog = emulator.catalog
        self.switches = emulator.switches
        self.variables = dict(SESSION_VARIABLES)
        self.client_reader, self.client_writer = client_reader, client_writer
        self.backend_reader: BypassReader | None = None
        self.backend_writer: asyncio.StreamWriter | None = None
        self.database: str | None = None
        self.capabilities = 0
        self.watch: Watch | None = None
        self._maybe_infile = False
        self._in_infile = False
        self._continuation = False
        self._forward_left = 0
        self._isolation_pending = True  # READ_COMMITTED is sent before the next command

    @property
    def deprecate_eof(self) -> bool:
        return bool(self.capabilities & p.CLIENT_DEPRECATE_EOF)

    async def close(self) -> None:
        for writer in (self.client_writer, self.backend_writer):
            if writer is not None:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

    # --- connection phase -----------------------------------------------------------------

    async def run(self) -> None:
        url = self.emulator.backend
        self.backend_reader, self.backend_writer = await open_bypass_connection(
            url.host, url.port, limit=BUFFER
        )
        for writer in (self.client_writer, self.backend_writer):
            writer.transport.set_write_buffer_limits(high=BUFFER)
        seq, payload = await read_packet(self.backend_reader)
        if payload[:1] != b"\xff":
            handshake = p.Handshake.parse(payload)
            payload = handshake.as_singlestore(surface.PROTOCOL_SERVER_VERSION)
            server_caps = handshake.capabilities
        self.client_writer.write(p.frame(payload, seq))
        if payload[:1] == b"\xff":
            return
        seq, payload = await read_packet(self.client_reader)
        response = p.HandshakeResponse.parse(payload)
        if response.capabilities & p.CLIENT_SSL and len(payload) == 32:
            log.warning("client asked for TLS, which the emulator does not offer; closing")
            return
        self.capabilities = response.capabilities & server_caps
        self.database = response.database
        self.backend_writer.write(p.frame(payload, seq))
        if not await self._authenticate():
            return
        pump = asyncio.ensure_future(self._server_pump())
        try:
            await self._client_pump()
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await pump

    async def _authenticate(self) -> bool:
        """Relay the authentication exchange until the server says OK (True) or ERR."""
        assert self.backend_reader is not None and self.backend_writer is not None
        while True:
            seq, payload = await read_packet(self.backend_reader)
            self.client_writer.write(p.header(len(payload), seq) + payload)
            head = payload[:1]
            if head == b"\x00":
                return True
            if head == b"\xff":
                await self.client_writer.drain()
                return False
            if payload == b"\x01\x03":  # caching_sha2 fast-auth success: OK follows
                continue
            seq, payload = await read_packet(self.client_reader)
            self.backend_writer.write(p.header(len(payload), seq) + payload)

    # --- client → server ------------------------------------------------------------------

    async def _client_pump(self) -> None:
        assert self.backend_writer is not None
        backend = self.backend_writer
        rest = b""  # an incomplete header or command left from the last chunk
        while True:
            chunk = await self.client_reader.read(READ_SIZE)
            if not chunk:
                return
            # Most chunks (a LOCAL INFILE upload, small commands) are forwarded whole: no copy.
            data = rest + chunk if rest else chunk
            pos = sent = 0
            end = len(data)
            while True:
                if self._forward_left:
                    step = min(self._forward_left, end - pos)
                    pos += step
                    self._forward_left -= step
                    if self._forward_left:
                        break
                if end - pos < 4:
                    break
                length = data[pos] | data[pos + 1] << 8 | data[pos + 2] << 16
                if self._is_command(data[pos + 3], length):
                    if end - pos < 4 + length:
                        break
                    if pos > sent:
                        backend.write(data[sent:pos])
                    payload = data[pos + 4 : pos + 4 + length]
                    pos = sent = pos + 4 + length
                    if not await self._command(payload):
                        return
                else:
                    pos += 4
                    self._forward_left = length
            if pos > sent:
                backend.write(data if sent == 0 and pos == end else data[sent:pos])
            rest = data[pos:]
            await backend.drain()

    def _is_command(self, seq: int, length: int) -> bool:
        """Whether the packet starting here begins a new command (else: forward its bytes)."""
        if self._in_infile:
            self._in_infile = length != 0  # an empty packet ends the upload
            return False
        if self._continuation:
            self._continuation = length == p.MAX_PAYLOAD
            return False
        if self._maybe_infile:
            self._maybe_infile = False
            if seq != 0:  # the server asked for the file: data packets follow
                self._in_infile = length != 0
                return False
        if seq != 0:
            return False
        if length == p.MAX_PAYLOAD:  # a >16 MiB command is forwarded without inspection
            self._continuation = True
            return False
        return True

    async def _command(self, payload: bytes) -> bool:
        """Handle one command packet; False when the client said goodbye."""
        command = payload[0] if payload else -1
        try:
            if self._isolation_pending and command not in RESETS:
                self._isolation_pending = False
                await self._probe(READ_COMMITTED)
            if command == p.COM_QUERY:
                await self._query(payload)
            elif command == p.COM_STMT_PREPARE:
                await self._prepare(payload)
            elif command == p.COM_INIT_DB:
                name = payload[1:].decode("utf-8", "replace")
                await self._send(payload, watch=self._on_ok(lambda: self._set_database(name)))
            elif command in (p.COM_CHANGE_USER, p.COM_RESET_CONNECTION):
                self.switches = self.emulator.switches  # a fresh session: CLI defaults
                self.variables = dict(SESSION_VARIABLES)
                if command == p.COM_CHANGE_USER:
                    self.database = p.change_user_database(payload, self.capabilities)
                self._isolation_pending = True  # MariaDB reset the session's isolation level
                self._to_backend(payload)
            elif command == p.COM_QUIT:
                self._to_backend(payload)
                return False
            else:
                self._to_backend(payload)
        except Rejected as error:
            log.info("rejected (%s): %s", error.errno, error.message)
            self._to_client(p.err_payload(error.errno, error.sqlstate, error.message))
        return True

    def _to_backend(self, payload: bytes) -> None:
        assert self.backend_writer is not None
        self.backend_writer.write(p.frame(payload, 0))

    def _to_client(self, payload: bytes, seq: int = 1) -> None:
        self.client_writer.write(p.frame(payload, seq))

    async def _send(
        self, payload: bytes, watch: Callable[[Response], Awaitable[bytes | None]] | None = None
    ) -> None:
        if watch is not None:
            assert self.backend_reader is not None
            self.backend_reader.stop_bypass()  # the reply must reach the pump's buffer
            self.watch = Watch(Response(self.deprecate_eof), watch)
        self._to_backend(payload)

    # --- queries --------------------------------------------------------------------------

    async def _query(self, payload: bytes) -> None:
        sql = payload[1:]
        keyword = first_keyword(sql)
        if keyword == "LOAD":
            self._maybe_infile = True
        multi = self.capabilities & p.CLIENT_MULTI_STATEMENTS and b";" in sql
        if not multi and not self._worth_parsing(sql, keyword):
            self._to_backend(payload)
            return
        if not multi and self._only_shape(sql, keyword):
            text = sql.decode("utf-8", "surrogateescape")
            shaped = self._shape(text, keyword)  # raises Rejected
            if shaped == text:
                self._to_backend(payload)
                return
        parts = split_statements(tokenize(sql.decode("utf-8", "surrogateescape")))
        if len(parts) == 1:
            await self._statement(parts[0], keyword)
            return
        rewritten = []
        for tokens in parts:  # several statements: rules and translation, no bookkeeping
            if statements.is_aggregator_sync(significant(tokens)):
                rewritten.append(AGGREGATOR_SYNC)
                continue
            explained = statements.explain_json(tokens)
            text = explained or join(tokens)
            shaped = self._shape(text, first_keyword(text.encode("utf-8", "surrogateescape")))
            if shaped != text:
                rewritten.append(self._translate(shaped))
                continue
            result = await self._analyze(text, None if explained else tokens)
            if isinstance(result, ddl.Rewrite):
                if result.statement is not None:
                    rewritten.append(result.statement)
            else:
                rewritten.append(self._translate(text))
        self._to_backend(b"\x03" + ";".join(rewritten).encode("utf-8", "surrogateescape"))

    def _only_shape(self, sql: bytes, keyword: str) -> bool:
        """Whether the shape rules are the only reason to look at this query: then it is checked
        without being tokenized, and forwarded as sent unless refused or rewritten."""
        return keyword in SHAPED and not self._worth_parsing(sql, keyword, shapes_too=False)

    def _worth_parsing(self, sql: bytes, keyword: str, shapes_too: bool = True) -> bool:
        """The hot-path filter: False means forward the query untouched."""
        scanned = sql
        if keyword in ("INSERT", "REPLACE") and len(sql) > BIG_INSERT:
            values = sql.find(b"VALUES", 0, BIG_INSERT)
            scanned = sql[:values] if values > 0 else sql
        if dialect.needs_translation(scanned):
            return True
        if shapes_too and keyword in SHAPED and shapes.candidate(scanned) and scanned is sql:
            return True
        if keyword in WRITES:
            return self.switches.child_aggregator
        if keyword == "UPDATE":
            target = statements.update_target(sql)
            return target is None or self._lookup(*target) is not None
        if keyword in ("SELECT", "WITH"):
            return self.switches.shuffle_rows or any(name in sql for name in STORAGE_COLUMNS)
        if keyword == "SET":
            return OWN_VARIABLE.search(sql) is not None
        if keyword == "ROLLBACK":
            return ROLLBACK_TO.search(sql) is not None
        return keyword in INSPECTED

    async def _prepare(self, payload: bytes) -> None:
        sql = payload[1:]
        keyword = first_keyword(sql)
        if (
            not dialect.needs_translation(sql)
            and keyword not in ddl.HANDLED_KEYWORDS
            and not (keyword in SHAPED and shapes.candidate(sql))
        ):
            self._to_backend(payload)
            return
        text = self._shape(sql.decode("utf-8", "surrogateescape"), keyword)
        result = await self._analyze(text)
        if isinstance(result, ddl.Rewrite):
            # No statement for MariaDB (e.g. a FOREIGN KEY SingleStore never enforces): prepare a
            # no-op, never the original, which MariaDB would carry out.
            text = "DO 0" if result.statement is None else result.statement
        else:
            text = self._translate(text)
        self._to_backend(b"\x16" + text.encode("utf-8", "surrogateescape"))

    async def _analyze(self, sql: str, tokens: list[Token] | None = None) -> ddl.Result:
        """:func:`ddl.analyze` with this session's state; raises :class:`Rejected`.

        ``tokens``, when given, are ``sql``'s (see :func:`ddl.analyze`). Whether the session is
        inside a transaction is only asked of MariaDB when the answer matters: a reference-table
        write in child-aggregator mode.
        """
        child = self.switches.child_aggregator
        result = ddl.analyze(
            sql,
            self.database,
            self._lookup,
            tokens=tokens,
            in_transaction=child,
            child_aggregator=child,
        )
        if isinstance(result, ddl.Reject) and result.rule_id == CHILD_AGGREGATOR_RULE:
            rows = await self._probe("SELECT @@in_transaction, @@autocommit")
            if not (rows[0][0] == b"1" or rows[0][1] == b"0"):
                result = ddl.analyze(
                    sql,
                    self.database,
                    self._lookup,
                    tokens=tokens,
                    in_transaction=False,
                    child_aggregator=True,
                )
        if isinstance(result, ddl.Reject):
            raise Rejected(result.errno, result.sqlstate, result.message)
        return result

    def _shape(self, sql: str, keyword: str) -> str:
        """Refuse a query shape SingleStore refuses (:class:`Rejected`); return the statement,
        rewritten where SingleStore's semantics differ (S2-UNION-LIMIT)."""
        if keyword not in SHAPED or (keyword in ("INSERT", "REPLACE") and len(sql) > BIG_INSERT):
            return sql  # bulk rows are data: never parsed whole (docs/emulator.md, blind spots)
        if not shapes.candidate(sql.encode("utf-8", "surrogateescape")):
            return sql
        violation = shapes.check_cached(sql, self.database, self._lookup, self.catalog.generation)
        if violation is not None:
            errno = violation.errno or 1706
            raise Rejected(errno, violation.sqlstate, violation.message)
        return shapes.union_limit(sql) or sql

    def _translate(self, sql: str) -> str:
        translated = dialect.translate(sql, self._variables())
        return sql if translated is None else translated

    async def _statement(self, tokens: list[Token], keyword: str) -> None:
        """One statement: check, translate, and keep the catalog and session state current."""
        words = significant(tokens)
        if keyword == "SET" and await self._set(words):
            return
        if keyword == "AGGREGATOR" and statements.is_aggregator_sync(words):
            await self._run(AGGREGATOR_SYNC)
            return
        if keyword == "USE" and len(words) >= 2:
            name = words[1].name
            await self._run(join(tokens), self._on_ok(lambda: self._set_database(name)))
            return
        if keyword == "SHOW":
            target = statements.show_create_table(words, self.database)
            if target is not None:
                await self._run(join(tokens), self._show_create(*target))
                return
        text = join(tokens)
        if keyword == "EXPLAIN":
            text = statements.explain_json(tokens) or text
        shaped = self._shape(text, keyword)
        if shaped != text:
            text, tokens = shaped, tokenize(shaped)
        if keyword in ddl.HANDLED_KEYWORDS:  # EXPLAIN is not: ``text`` is still ``tokens``'
            result = await self._analyze(text, tokens)
            if isinstance(result, ddl.Rewrite):
                await self._rewrite(result, statements.created_database(words))
                return
        encoded = text.encode("utf-8", "surrogateescape")
        sql = self._translate(text) if dialect.needs_translation(encoded) else text
        watch = None
        if keyword in ("SELECT", "WITH"):
            # ``tokens`` are ``text``'s: tokenize again only if translation changed it.
            words_of_sql = tokens if sql == text else tokenize(sql)
            sql = statements.storage_columns_query(words_of_sql, self.catalog.tables_join()) or sql
            if self.switches.shuffle_rows and not statements.has_order_by(words_of_sql):
                watch = self._shuffle
        await self._run(sql, watch)

    async def _run(
        self, sql: str, watch: Callable[[Response], Awaitable[bytes | None]] | None = None
    ) -> None:
        await self._send(b"\x03" + sql.encode("utf-8", "surrogateescape"), watch)

    def _variables(self) -> dict[str, str]:
        values = dict(self.variables)
        for variable, attribute in SWITCH_VARIABLES.items():
            values[variable] = "1" if getattr(self.switches, attribute) else "0"
        return values

    def _lookup(self, db: str | None, name: str) -> rules.TableSpec | None:
        return self.catalog.get(db or self.database, name)

    async def _set_database(self, name: str) -> None:
        self.database = name

    async def _probe(self, sql: str) -> list[list[bytes | None]]:
        """Run the emulator's own query on this session's backend connection."""
        result: asyncio.Future[Response] = asyncio.get_running_loop().create_future()

        async def done(response: Response) -> None:
            result.set_result(response)

        await self._send(b"\x03" + sql.encode("utf-8", "surrogateescape"), done)
        response = await result
        if response.error is not None:
            raise Rejected(response.error.errno, response.error.sqlstate, response.error.message)
        return [response.row_values(i) for i in range(len(response.rows))]

    async def _status(self) -> int:
        """The backend's current status flags (autocommit, in transaction), via COM_PING."""
        result: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def done(response: Response) -> None:
            result.set_result(response.status)

        await self._send(b"\x0e", done)
        return await result

    # --- SET ------------------------------------------------------------------------------

    async def _set(self, words: list[Token]) -> bool:
        """Apply emulator switches and SingleStore-only variables; True if fully handled."""
        transaction = statements.set_transaction(words)
        if transaction is not None:
            if transaction:
                await self._run(transaction)
            else:
                self._to_client(p.ok_payload(await self._status()))
            return True
        assignments = statements.set_assignments(words)
        if assignments is None:
            return False
        ours = [
            a
            for a in assignments
            if a.name in SWITCH_VARIABLES
            or a.name in SESSION_VARIABLES
            or a.name in ISOLATION_VARIABLES
        ]
        if not ours:
            return False
        for assignment in ours:
            if assignment.name in READ_ONLY_VARIABLES:
                raise Rejected(
                    1238, "HY000", f"Variable '{assignment.name}' is a read only variable"
                )
        for assignment in ours:
            if assignment.name in ISOLATION_VARIABLES:
                continue  # READ COMMITTED stays (see READ_COMMITTED)
            if assignment.name in SWITCH_VARIABLES:
                on = assignment.value.upper() in ("1", "ON", "TRUE", "YES")
                field = SWITCH_VARIABLES[assignment.name]
                self.switches = replace(self.switches, **{field: on})
            else:
                self.variables[assignment.name] = assignment.value
        rest = [a.text for a in assignments if a not in ours]
        if rest:
            await self._run("SET " + ", ".join(rest))
        else:
            self._to_client(p.ok_payload(await self._status()))
        return True

    # --- DDL and the catalog --------------------------------------------------------------

    async def _rewrite(self, result: ddl.Rewrite, new_database: str | None = None) -> None:
        """Run a rewritten statement; the catalog changes once MariaDB has said OK.

        A database MariaDB has just created (no "already exists" warning) holds no tables, so
        catalog rows left under its name by an earlier life are removed.
        """
        changes = result.changes

        async def apply() -> None:
            for change in changes:
                await self._apply(change)

        if result.statement is None:
            await apply()
            self._to_client(p.ok_payload(await self._status()))
            return
        if new_database is not None:

            async def created(response: Response) -> bytes:
                if response.error is None and not response.warnings:
                    await self.catalog.drop_database(new_database)
                return response.encode()

            await self._run(result.statement, created)
            return
        # Expressions in DDL (computed columns, CREATE TABLE ... AS SELECT) may use JSON syntax.
        sql = self._translate(result.statement)
        if self.switches.scatter_auto_increment:
            sql = self._scatter(sql, changes)
        await self._run(sql, self._on_ok(apply))

    @staticmethod
    def _scatter(sql: str, changes: tuple[ddl.CatalogChange, ...]) -> str:
        """Give a new table with an AUTO_INCREMENT column a random starting value."""
        for change in changes:
            if (
                isinstance(change, ddl.TableCreated)
                and change.spec.auto_increment_start is None
                and any(c.auto_increment for c in change.spec.columns)
            ):
                return f"{sql} AUTO_INCREMENT={random.randrange(1 << 20, 1 << 24)}"
        return sql

    async def _apply(self, change: ddl.CatalogChange) -> None:
        catalog = self.catalog
        if isinstance(change, ddl.TableCreated):
            if change.db is not None and not (
                change.if_not_exists and catalog.get(change.db, change.spec.name) is not None
            ):
                await catalog.put(change.db, change.spec)
        elif isinstance(change, ddl.TableAltered):
            if change.db is not None:
                await catalog.put(change.db, change.spec.with_changes(name=change.table))
        elif isinstance(change, ddl.TableRenamed):
            if change.db is not None and change.new_db is not None:
                await catalog.rename(change.db, change.table, change.new_db, change.new_table)
        elif isinstance(change, ddl.TableDropped):
            if change.db is not None:
                await catalog.drop(change.db, change.table)
        elif isinstance(change, ddl.DatabaseDropped):
            await catalog.drop_database(change.db)
            if change.db == self.database:
                self.database = None

    def _on_ok(
        self, action: Callable[[], Awaitable[None]]
    ) -> Callable[[Response], Awaitable[bytes | None]]:
        async def done(response: Response) -> bytes:
            if response.error is None:
                await action()
            return response.encode()

        return done

    def _show_create(self, db: str | None, name: str) -> Callable[[Response], Awaitable[bytes]]:
        async def done(response: Response) -> bytes:
            if response.error is not None or len(response.columns) != 2 or not response.rows:
                return response.encode()
            table, created = response.row_values(0)
            spec = statements.spec_for_show(
                self.catalog.get(db, name), (created or b"").decode("utf-8", "replace")
            )
            if spec is None:
                return response.encode()
            text = ddl.render_show_create(spec)
            index = response.rows[0]
            seq, _ = response.packets[index]
            response.packets[index] = (
                seq,
                p.lenenc_str(table or b"") + p.lenenc_str(text.encode("utf-8")),
            )
            return response.encode()

        return done

    async def _shuffle(self, response: Response) -> bytes:
        """Deal the first result set's rows in random order (sequence ids stay in place)."""
        rows = response.rows
        if len(rows) > 1 and rows[-1] - rows[0] + 1 == len(rows):
            packets = response.packets[rows[0] : rows[-1] + 1]
            if all(len(payload) < p.MAX_PAYLOAD for _, payload in packets):
                bodies = [payload for _, payload in packets]
                random.shuffle(bodies)
                response.packets[rows[0] : rows[-1] + 1] = [
                    (seq, body) for (seq, _), body in zip(packets, bodies, strict=True)
                ]
        return response.encode()

    # --- server → client ------------------------------------------------------------------

    def _forward(self, data: bytes) -> None:
        """A bypassed chunk: to the client now; past the high-water mark, back to the pump,
        which waits for the client to drain before it bypasses again."""
        self.client_writer.write(data)
        if self.client_writer.transport.get_write_buffer_size() > BUFFER:
            assert self.backend_reader is not None
            self.backend_reader.stop_bypass()

    async def _server_pump(self) -> None:
        """Copy the backend's bytes to the client: straight from the transport's callback (a
        :class:`BypassReader` bypass) unless a reply is watched, then packet by packet."""
        reader = self.backend_reader
        assert reader is not None
        client = self.client_writer
        buf = bytearray()
        while True:
            if self.watch is None and not buf:
                await client.drain()
                if reader.bypass(self._forward):
                    await reader.bypassed()
                    continue
            chunk = await reader.read(READ_SIZE)
            if not chunk:
                client.close()
                return
            if self.watch is None and not buf:
                client.write(chunk)
                continue
            buf += chunk
            pos = 0
            while self.watch is not None and len(buf) - pos >= 4:
                length = buf[pos] | buf[pos + 1] << 8 | buf[pos + 2] << 16
                if len(buf) - pos < 4 + length:
                    break
                seq = buf[pos + 3]
                payload = bytes(buf[pos + 4 : pos + 4 + length])
                pos += 4 + length
                watch = self.watch
                if watch.response.feed(seq, payload):
                    self.watch = None
                    try:
                        out = await watch.done(watch.response)
                    except Exception:  # the reply still reaches the client as MariaDB sent it
                        log.exception("handling a watched reply failed")
                        out = watch.response.encode()
                    if out:
                        client.write(out)
            if self.watch is None and pos < len(buf):
                client.write(bytes(buf[pos:]))
                pos = len(buf)
            del buf[:pos]
            await client.drain()


async def serve(
    listen: tuple[str, int],
    backend: BackendURL,
    switches: Switches,
    catalog_schema: str,
    stop: asyncio.Event,
) -> None:
    """Run until ``stop`` is set."""
    emulator = Emulator(backend, switches, catalog_schema)
    host, port = await emulator.start(*listen)
    switch_text = ", ".join(f"{k}={v}" for k, v in vars(switches).items())
    loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
    # The ready line goes to stderr whatever the log level: tools wait for it.
    print(
        f"SingleStore emulator listening on {host}:{port}, backend {backend.host}:"
        f"{backend.port} ({switch_text}; loop {loop})",
        file=sys.stderr,
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        await emulator.close()
        log.info("SingleStore emulator stopped")
