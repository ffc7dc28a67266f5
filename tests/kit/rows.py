"""Shared data for the backfill and verify tests: rows with every awkward value we convert."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Any

from django.db import models

from tests.kit.kitapp.models import Composite, Everything, StrKeyed, UuidKeyed

UTC = datetime.UTC
TEXTS = ["", "plain", "tab\there", "new\nline", "back\\slash", "\\N", "ünïcødé ✓ 🚀", "cr\rlf"]


def everything_rows(n: int) -> list[Everything]:
    """``n`` rows cycling through edge values for every column; row 0 is all NULL/defaults."""
    rows = [Everything(name="")]
    for i in range(1, n):
        text = TEXTS[i % len(TEXTS)]
        rows.append(
            Everything(
                name=f"row {i} {text[:20]}",
                text=text,
                uid=uuid.UUID(int=i * 7919),
                data={"b": [1, 2.5, None], "a": text, "n": i} if i % 3 else [i, "x"],
                amount=decimal.Decimal(i * 1001) / decimal.Decimal(1000) * (-1 if i % 2 else 1),
                at=datetime.datetime(2020, 1, 1, tzinfo=UTC)
                + datetime.timedelta(seconds=i * 3607, microseconds=i),
                day=datetime.date(1999, 12, 31) + datetime.timedelta(days=i),
                clock=datetime.time(i % 24, i % 60, i % 60, i * 11 % 1_000_000),
                flag=bool(i % 2),
                maybe=None if i % 3 == 0 else bool(i % 2),
                blob=bytes([i % 256, 0, 9, 10, 92, 255]) * (i % 4),
                ratio=[-0.0, 0.1, 1e20, -3.5, 1 / 3][i % 5],
                small=-(i % 300),
                big=2**62 - i,
                span=datetime.timedelta(days=i, microseconds=i),
            )
        )
    return rows


def keyed_rows() -> dict[type[models.Model], list[models.Model]]:
    """Rows for the UUID-, string- and composite-keyed models."""
    return {
        UuidKeyed: [
            UuidKeyed(id=uuid.UUID(int=(i * 2654435761) % 2**128), label=f"u{i}", payload={"i": i})
            for i in range(1, 60)
        ],
        StrKeyed: [
            StrKeyed(code=f"k{i:03d}-{TEXTS[i % len(TEXTS)][:4]}", text=TEXTS[i % len(TEXTS)])
            for i in range(45)
        ],
        Composite: [
            Composite(tenant=t, seq=s, value=f"{t}:{s}", amount=decimal.Decimal(s) / 4)
            for t in range(1, 6)
            for s in range(1, 13)
        ],
    }


def snapshot(model: type[models.Model], alias: str) -> dict[Any, dict[str, Any]]:
    """Every row of ``model`` on ``alias`` as ``{pk: {attname: value}}`` (ORM-converted)."""
    fields = [f.attname for f in model._meta.concrete_fields]
    out = {}
    for values in model.objects.using(alias).values_list(*fields):
        row = dict(zip(fields, values, strict=True))
        for k, v in row.items():
            if isinstance(v, memoryview):
                row[k] = bytes(v)
        pk = tuple(row[f.attname] for f in model._meta.pk_fields)
        out[pk] = row
    return out
