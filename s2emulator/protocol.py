"""MySQL client/server protocol pieces the emulator needs: framing, handshake, OK/ERR, results.

Only what a proxy must understand is decoded: the initial handshake (to advertise SingleStore's
version), the client's handshake response (capabilities, database), and response packets when
the emulator watches a reply. Everything else travels as opaque bytes.
Reference: the MySQL and MariaDB client/server protocol documentation (protocol version 10).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

MAX_PAYLOAD = 0xFFFFFF

# Capability flags (the ones the emulator looks at or changes).
CLIENT_LONG_PASSWORD = 0x00000001  # "CLIENT_MYSQL" for MariaDB: unset means MariaDB extensions
CLIENT_CONNECT_WITH_DB = 0x00000008
CLIENT_COMPRESS = 0x00000020
CLIENT_PROTOCOL_41 = 0x00000200
CLIENT_SSL = 0x00000800
CLIENT_SECURE_CONNECTION = 0x00008000
CLIENT_MULTI_STATEMENTS = 0x00010000
CLIENT_MULTI_RESULTS = 0x00020000
CLIENT_PLUGIN_AUTH = 0x00080000
CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA = 0x00200000
CLIENT_DEPRECATE_EOF = 0x01000000

SERVER_MORE_RESULTS_EXISTS = 0x0008

COM_QUIT = 0x01
COM_INIT_DB = 0x02
COM_QUERY = 0x03
COM_CHANGE_USER = 0x11
COM_STMT_PREPARE = 0x16
COM_RESET_CONNECTION = 0x1F

UTF8MB4_GENERAL_CI = 45


def header(length: int, seq: int) -> bytes:
    return struct.pack("<I", length)[:3] + bytes((seq & 0xFF,))


def frame(payload: bytes, seq: int) -> bytes:
    """``payload`` as one or more wire packets, sequence ids counting up from ``seq``."""
    if len(payload) < MAX_PAYLOAD:
        return header(len(payload), seq) + payload
    out = bytearray()
    pos = 0
    while True:
        chunk = payload[pos : pos + MAX_PAYLOAD]
        out += header(len(chunk), seq)
        out += chunk
        seq += 1
        pos += len(chunk)
        if len(chunk) < MAX_PAYLOAD:
            return bytes(out)


def lenenc_int(value: int) -> bytes:
    if value < 0xFB:
        return bytes((value,))
    if value < 1 << 16:
        return b"\xfc" + struct.pack("<H", value)
    if value < 1 << 24:
        return b"\xfd" + struct.pack("<I", value)[:3]
    return b"\xfe" + struct.pack("<Q", value)


def read_lenenc_int(data: bytes, pos: int) -> tuple[int | None, int]:
    """(value, next position); ``None`` for the NULL marker 0xFB."""
    first = data[pos]
    if first < 0xFB:
        return first, pos + 1
    if first == 0xFB:
        return None, pos + 1
    if first == 0xFC:
        return data[pos + 1] | data[pos + 2] << 8, pos + 3
    if first == 0xFD:
        return int.from_bytes(data[pos + 1 : pos + 4], "little"), pos + 4
    return int.from_bytes(data[pos + 1 : pos + 9], "little"), pos + 9


def lenenc_str(value: bytes) -> bytes:
    return lenenc_int(len(value)) + value


def err_payload(errno: int, sqlstate: str, message: str) -> bytes:
    """An ERR packet body: 0xFF, error number, ``#`` + SQLSTATE, message."""
    return (
        b"\xff"
        + struct.pack("<H", errno)
        + b"#"
        + sqlstate.encode("ascii")[:5].ljust(5, b"0")
        + message.encode("utf-8")
    )


def ok_payload(status: int, affected: int = 0, insert_id: int = 0, warnings: int = 0) -> bytes:
    head = b"\x00" + lenenc_int(affected) + lenenc_int(insert_id)
    return head + struct.pack("<HH", status, warnings)


@dataclass
class Handshake:
    """The server's initial handshake (protocol 10), split where the emulator edits it."""

    server_version: str
    capabilities: int
    before_version: bytes  # protocol byte
    after_version: bytes  # everything after the version's NUL, capabilities included
    caps_low_at: int  # offsets inside ``after_version``
    caps_high_at: int | None
    ext_caps_at: int | None

    @classmethod
    def parse(cls, payload: bytes) -> Handshake:
        if not payload or payload[0] != 10:
            raise ValueError("unsupported handshake protocol version")
        end = payload.index(b"\x00", 1)
        after = payload[end + 1 :]
        caps_low_at = 4 + 8 + 1
        caps = int.from_bytes(after[caps_low_at : caps_low_at + 2], "little")
        caps_high_at = ext_caps_at = None
        if len(after) >= caps_low_at + 2 + 1 + 2 + 2:
            caps_high_at = caps_low_at + 2 + 1 + 2
            caps |= int.from_bytes(after[caps_high_at : caps_high_at + 2], "little") << 16
            # 1 byte auth-data length, 6 reserved bytes, then MariaDB's extended capabilities.
            ext_caps_at = caps_high_at + 2 + 1 + 6
        return cls(
            server_version=payload[1:end].decode("latin-1"),
            capabilities=caps,
            before_version=payload[:1],
            after_version=after,
            caps_low_at=caps_low_at,
            caps_high_at=caps_high_at,
            ext_caps_at=ext_caps_at,
        )

    def as_singlestore(self, version: str) -> bytes:
        """The handshake a SingleStore server would send: its version string, plain MySQL caps.

        MariaDB clears ``CLIENT_MYSQL`` and puts extension capabilities in reserved bytes; a
        SingleStore server is a MySQL server, so the bit is set and the extensions zeroed. TLS
        is not offered because a proxy that inspects queries cannot read encrypted traffic.
        The authentication data is kept byte for byte, so the client's scramble stays valid.
        """
        caps = (self.capabilities | CLIENT_LONG_PASSWORD) & ~(CLIENT_SSL | CLIENT_COMPRESS)
        after = bytearray(self.after_version)
        after[self.caps_low_at : self.caps_low_at + 2] = struct.pack("<H", caps & 0xFFFF)
        if self.caps_high_at is not None:
            after[self.caps_high_at : self.caps_high_at + 2] = struct.pack("<H", caps >> 16)
        if self.ext_caps_at is not None:
            after[self.ext_caps_at : self.ext_caps_at + 4] = b"\x00\x00\x00\x00"
        self.capabilities = caps
        return self.before_version + version.encode("latin-1") + b"\x00" + bytes(after)

    @property
    def salt(self) -> bytes:
        """The 20-byte scramble (auth-plugin-data parts 1 and 2)."""
        part1 = self.after_version[4:12]
        part2_at = (self.ext_caps_at or 0) + 4
        part2 = self.after_version[part2_at : part2_at + 12]
        return part1 + part2


@dataclass
class HandshakeResponse:
    """What the emulator needs from the client's HandshakeResponse41."""

    capabilities: int
    database: str | None

    @classmethod
    def parse(cls, payload: bytes) -> HandshakeResponse:
        caps = int.from_bytes(payload[:4], "little")
        if not caps & CLIENT_PROTOCOL_41 or len(payload) < 32:
            return cls(caps, None)
        pos = payload.index(b"\x00", 32) + 1  # after the user name
        if caps & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA:
            length, pos = read_lenenc_int(payload, pos)
            pos += length or 0
        elif caps & CLIENT_SECURE_CONNECTION:
            pos += 1 + payload[pos]
        else:
            pos = payload.index(b"\x00", pos) + 1
        database = None
        if caps & CLIENT_CONNECT_WITH_DB and pos < len(payload):
            end = payload.find(b"\x00", pos)
            raw = payload[pos : end if end >= 0 else len(payload)]
            database = raw.decode("utf-8", "replace") or None
        return cls(caps, database)


def change_user_database(payload: bytes, capabilities: int) -> str | None:
    """The database a COM_CHANGE_USER packet switches to."""
    try:
        pos = payload.index(b"\x00", 1) + 1  # after the user name
        if capabilities & CLIENT_SECURE_CONNECTION:
            pos += 1 + payload[pos]
        else:
            pos = payload.index(b"\x00", pos) + 1
        end = payload.index(b"\x00", pos)
    except (ValueError, IndexError):
        return None
    return payload[pos:end].decode("utf-8", "replace") or None


def native_password(password: bytes, salt: bytes) -> bytes:
    """mysql_native_password: SHA1(pw) XOR SHA1(salt + SHA1(SHA1(pw)))."""
    if not password:
        return b""
    stage1 = hashlib.sha1(password).digest()
    stage2 = hashlib.sha1(stage1).digest()
    mix = hashlib.sha1(salt[:20] + stage2).digest()
    return bytes(a ^ b for a, b in zip(stage1, mix, strict=True))


@dataclass
class ServerError(Exception):
    """An ERR packet, decoded."""

    errno: int
    sqlstate: str
    message: str

    @classmethod
    def parse(cls, payload: bytes) -> ServerError:
        errno = int.from_bytes(payload[1:3], "little")
        if payload[3:4] == b"#":
            return cls(errno, payload[4:9].decode("ascii"), payload[9:].decode("utf-8", "replace"))
        return cls(errno, "HY000", payload[3:].decode("utf-8", "replace"))

    def __str__(self) -> str:
        return f"({self.errno}, {self.sqlstate}) {self.message}"


def ok_status_warnings(payload: bytes) -> tuple[int, int]:
    """Status flags and warning count of an OK packet (header 0x00, or 0xFE as end of rows)."""
    _, pos = read_lenenc_int(payload, 1)
    _, pos = read_lenenc_int(payload, pos)
    return (
        int.from_bytes(payload[pos : pos + 2], "little"),
        int.from_bytes(payload[pos + 2 : pos + 4], "little"),
    )


def ok_status(payload: bytes) -> int:
    return ok_status_warnings(payload)[0]


def eof_status(payload: bytes, deprecate_eof: bool) -> int:
    if deprecate_eof:
        return ok_status(payload)
    return int.from_bytes(payload[3:5], "little") if len(payload) >= 5 else 0


def is_end_of_rows(payload: bytes) -> bool:
    """0xFE header on a short packet: EOF, or the OK that replaces it (DEPRECATE_EOF)."""
    return bool(payload) and payload[0] == 0xFE and len(payload) < MAX_PAYLOAD


def decode_text_row(payload: bytes, ncols: int) -> list[bytes | None]:
    values: list[bytes | None] = []
    pos = 0
    for _ in range(ncols):
        length, pos = read_lenenc_int(payload, pos)
        if length is None:
            values.append(None)
        else:
            values.append(payload[pos : pos + length])
            pos += length
    return values
