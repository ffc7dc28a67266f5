"""A minimal binary-protocol client for the one thing our Python drivers never send: server-side
prepared statements (COM_STMT_PREPARE / COM_STMT_EXECUTE). String parameters and string
results only; enough to prove the proxy forwards the binary protocol intact."""

from __future__ import annotations

import socket
import struct

from s2emulator import protocol as p

MYSQL_TYPE_VAR_STRING = 0xFD


class RawClient:
    def __init__(self, host: str, port: int, user: str, password: str, database: str):
        self.sock = socket.create_connection((host, port), timeout=10)
        self.buffer = b""
        _, payload = self.read()
        handshake = p.Handshake.parse(payload)
        self.server_version = handshake.server_version
        caps = (
            p.CLIENT_LONG_PASSWORD
            | p.CLIENT_PROTOCOL_41
            | p.CLIENT_SECURE_CONNECTION
            | p.CLIENT_PLUGIN_AUTH
            | p.CLIENT_CONNECT_WITH_DB
        )
        scramble = p.native_password(password.encode(), handshake.salt)
        response = (
            struct.pack("<IIB23x", caps, p.MAX_PAYLOAD, p.UTF8MB4_GENERAL_CI)
            + user.encode()
            + b"\x00"
            + bytes((len(scramble),))
            + scramble
            + database.encode()
            + b"\x00mysql_native_password\x00"
        )
        self.send(response, 1)
        _, reply = self.read()
        if reply[:1] != b"\x00":
            raise p.ServerError.parse(reply)

    def close(self) -> None:
        self.send(b"\x01", 0)
        self.sock.close()

    def send(self, payload: bytes, seq: int) -> None:
        self.sock.sendall(p.frame(payload, seq))

    def read(self) -> tuple[int, bytes]:
        while True:
            if len(self.buffer) >= 4:
                length = int.from_bytes(self.buffer[:3], "little")
                if len(self.buffer) >= 4 + length:
                    seq, payload = self.buffer[3], self.buffer[4 : 4 + length]
                    self.buffer = self.buffer[4 + length :]
                    return seq, payload
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk

    def prepare(self, sql: str) -> tuple[int, int, int]:
        """(statement id, column count, parameter count)."""
        self.send(b"\x16" + sql.encode(), 0)
        _, reply = self.read()
        if reply[0] == 0xFF:
            raise p.ServerError.parse(reply)
        statement, columns, params = struct.unpack("<IHH", reply[1:9])
        for count in (params, columns):
            if count:
                for _ in range(count + 1):  # definitions, then EOF
                    self.read()
        return statement, columns, params

    def execute(self, statement: int, params: list[str]) -> list[list[str | None]]:
        """Run a prepared statement with string parameters; rows of string columns."""
        body = struct.pack("<IBI", statement, 0, 1)
        if params:
            body += bytes((len(params) + 7) // 8) + b"\x01"
            body += struct.pack("<BB", MYSQL_TYPE_VAR_STRING, 0) * len(params)
            body += b"".join(p.lenenc_str(v.encode()) for v in params)
        self.send(b"\x17" + body, 0)
        _, first = self.read()
        if first[0] == 0xFF:
            raise p.ServerError.parse(first)
        if first[0] == 0x00:
            return []
        ncols, _ = p.read_lenenc_int(first, 0)
        assert ncols is not None
        for _ in range(ncols + 1):
            self.read()
        rows: list[list[str | None]] = []
        while True:
            _, payload = self.read()
            if p.is_end_of_rows(payload):
                return rows
            bitmap_len = (ncols + 7 + 2) // 8
            bitmap = payload[1 : 1 + bitmap_len]
            pos = 1 + bitmap_len
            row: list[str | None] = []
            for i in range(ncols):
                bit = i + 2
                if bitmap[bit // 8] & (1 << (bit % 8)):
                    row.append(None)
                    continue
                length, pos = p.read_lenenc_int(payload, pos)
                row.append(payload[pos : pos + (length or 0)].decode())
                pos += length or 0
            rows.append(row)
