"""The MariaDB side: where the backend lives, and a minimal asyncio client for the emulator's
own bookkeeping queries (the catalog). Client connections never go through this client; their
bytes are proxied untouched."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from . import protocol as p


@dataclass(frozen=True)
class BackendURL:
    """``mysql://user[:password]@host[:port]`` (also ``mariadb://``)."""

    host: str
    port: int
    user: str
    password: str

    @classmethod
    def parse(cls, url: str) -> BackendURL:
        parts = urlsplit(url)
        if parts.scheme not in ("mysql", "mariadb") or not parts.hostname:
            raise ValueError(
                f"backend must look like mysql://user[:password]@host[:port], got {url!r}"
            )
        return cls(
            host=parts.hostname,
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
        )


def parse_listen(text: str) -> tuple[str, int]:
    """``host:port`` → (host, port); port 0 picks a free port."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--listen must be host:port, got {text!r}")
    return host or "127.0.0.1", int(port)


class BypassReader(asyncio.StreamReader):
    """A stream reader that can hand its bytes straight to a callback instead of buffering them.

    While a bypass is on, each chunk the transport receives goes to the callback from the
    transport's own callback: no buffer copy, no task wake-up per chunk. The server → client
    direction runs this way whenever the session is not watching a reply (most of the time), so a
    result set streams at the pace the backend sends it."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit=limit)
        self._forward: Callable[[bytes], None] | None = None
        self._bypass_over: asyncio.Future[None] | None = None

    def bypass(self, forward: Callable[[bytes], None]) -> bool:
        """Start handing chunks to ``forward``; False (and nothing changes) while bytes wait in
        the buffer or the stream has ended, which must be read the ordinary way first."""
        if self._buffer or self.at_eof() or self.exception() is not None:
            return False
        self._forward = forward
        self._bypass_over = asyncio.get_running_loop().create_future()
        return True

    def stop_bypass(self) -> None:
        """Buffer again from the next chunk on (e.g. before a reply the session must see)."""
        self._forward = None
        if self._bypass_over is not None and not self._bypass_over.done():
            self._bypass_over.set_result(None)

    async def bypassed(self) -> None:
        """Return once the bypass has stopped: :meth:`stop_bypass`, end of stream or an error."""
        if self._bypass_over is not None:
            await self._bypass_over

    def feed_data(self, data: bytes) -> None:
        if self._forward is not None:
            self._forward(data)
        else:
            super().feed_data(data)

    def feed_eof(self) -> None:
        super().feed_eof()
        self.stop_bypass()

    def set_exception(self, exc: BaseException) -> None:
        super().set_exception(exc)
        self.stop_bypass()


async def open_bypass_connection(
    host: str, port: int, limit: int
) -> tuple[BypassReader, asyncio.StreamWriter]:
    """``asyncio.open_connection`` with a :class:`BypassReader`."""
    loop = asyncio.get_running_loop()
    reader = BypassReader(limit)
    protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    transport, _ = await loop.create_connection(lambda: protocol, host, port)
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)


async def read_packet(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One physical packet: (sequence id, payload)."""
    head = await reader.readexactly(4)
    length = head[0] | head[1] << 8 | head[2] << 16
    return head[3], await reader.readexactly(length)


class BackendClient:
    """A text-protocol client: one connection, one query at a time (callers hold ``lock``)."""

    def __init__(self, url: BackendURL):
        self.url = url
        self.lock = asyncio.Lock()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        reader, writer = await asyncio.open_connection(self.url.host, self.url.port)
        _, payload = await read_packet(reader)
        if payload[:1] == b"\xff":
            raise p.ServerError.parse(payload)
        handshake = p.Handshake.parse(payload)
        caps = (
            p.CLIENT_LONG_PASSWORD
            | p.CLIENT_PROTOCOL_41
            | p.CLIENT_SECURE_CONNECTION
            | p.CLIENT_PLUGIN_AUTH
            | p.CLIENT_MULTI_RESULTS
            | 0x2000  # CLIENT_TRANSACTIONS
        )
        scramble = p.native_password(self.url.password.encode(), handshake.salt)
        response = (
            struct.pack("<IIB23x", caps, p.MAX_PAYLOAD, p.UTF8MB4_GENERAL_CI)
            + self.url.user.encode()
            + b"\x00"
            + bytes((len(scramble),))
            + scramble
            + b"mysql_native_password\x00"
        )
        writer.write(p.frame(response, 1))
        seq, reply = await read_packet(reader)
        if reply[:1] == b"\xfe":  # auth switch: plugin name, then a fresh scramble
            plugin, _, salt = reply[1:].partition(b"\x00")
            if plugin != b"mysql_native_password":
                raise ConnectionError(f"backend asks for unsupported auth plugin {plugin!r}")
            writer.write(p.frame(p.native_password(self.url.password.encode(), salt), seq + 1))
            seq, reply = await read_packet(reader)
        if reply[:1] == b"\xff":
            writer.close()
            raise p.ServerError.parse(reply)
        self._reader, self._writer = reader, writer

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    async def query(self, sql: str) -> list[list[bytes | None]]:
        """Run ``sql``; rows of a result set (``[]`` for OK). Raises :class:`ServerError`.

        A connection the server dropped (idle timeout, restart) is re-opened once.
        """
        try:
            return await self._query(sql)
        except (ConnectionError, asyncio.IncompleteReadError):
            await self.close()
            return await self._query(sql)

    async def _query(self, sql: str) -> list[list[bytes | None]]:
        if self._writer is None or self._writer.is_closing():
            await self.connect()
        assert self._reader is not None and self._writer is not None
        self._writer.write(p.frame(b"\x03" + sql.encode("utf-8"), 0))
        await self._writer.drain()
        _, first = await read_packet(self._reader)
        if first[0] == 0xFF:
            raise p.ServerError.parse(first)
        if first[0] == 0x00:
            return []
        ncols, _ = p.read_lenenc_int(first, 0)
        for _ in range((ncols or 0) + 1):  # column definitions and their EOF
            await read_packet(self._reader)
        rows: list[list[bytes | None]] = []
        while True:
            _, payload = await read_packet(self._reader)
            if payload[0] == 0xFF:
                raise p.ServerError.parse(payload)
            if p.is_end_of_rows(payload):
                return rows
            rows.append(p.decode_text_row(payload, ncols or 0))
