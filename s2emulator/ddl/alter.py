"""``ALTER TABLE``: parse the operations, judge them with ``rules.check_alter`` against the
table's current spec, and rewrite what MariaDB must run."""

from __future__ import annotations

from django_singlestore import rules
from django_singlestore.rules import (
    AddColumn,
    AddForeignKey,
    AddKey,
    AlterOp,
    DropColumn,
    DropForeignKey,
    DropKey,
    Key,
    ModifyColumn,
    RenameColumn,
    RenameTable,
    SetAutoIncrement,
    SetComment,
    SetDefault,
    SetOption,
    Version,
)
from s2emulator.sqltext import string_value

from .cursor import Cursor, Edits
from .parts import (
    SINGLESTORE_TABLE_OPTIONS,
    column_def,
    index_name,
    parse_default,
    parse_key,
    remove_element,
    rewrite_key,
)
from .results import (
    CatalogChange,
    Lookup,
    Reject,
    Result,
    Rewrite,
    TableAltered,
    TableRenamed,
    Unhandled,
)


def alter_table(
    cur: Cursor, edits: Edits, database: str | None, lookup: Lookup, version: Version | None
) -> Result:
    cur.accept_word("ONLINE", "IGNORE")
    cur.expect_word("TABLE")
    db, name = cur.qualified_name()
    db = db or database
    spec = lookup(db, name)
    # Index names taken so far, for MySQL's default name of an unnamed ADD KEY (``a``, ``a_2``).
    taken = set() if spec is None else {k.name.lower() for k in spec.keys}
    ops: list[AlterOp] = []
    elements: list[tuple[int, int]] = []
    removed: list[int] = []
    while not cur.at_end():
        start = cur.index()
        drop = _alter_op(cur, edits, ops, taken)
        elements.append((start, cur.last_index))
        if drop:
            removed.append(len(elements) - 1)
        timeout = cur.index()
        if cur.accept_word("TIMEOUT"):  # SingleStore's ALTER time limit: MariaDB has none
            cur.next()
            edits.delete(timeout, cur.last_index)
            break
        if not cur.accept_op(","):
            break
    if not cur.at_end():
        raise Unhandled("trailing ALTER text")
    changes: list[CatalogChange] = []
    if spec is not None:
        violations = rules.check_alter(spec, ops, version)
        if violations:
            return Reject.from_violation(violations[0])
        after = rules.apply_alter(spec, [op for op in ops if not isinstance(op, RenameTable)])
        changes.append(TableAltered(db, name, after))
    rename = next((op for op in ops if isinstance(op, RenameTable)), None)
    if rename is not None:
        changes.append(TableRenamed(db, name, rename.new_db or db, rename.new_name))
    if len(removed) == len(elements):
        return Rewrite(None, tuple(changes))
    for i in removed:
        remove_element(edits, elements, i)
    return Rewrite(edits.apply(), tuple(changes))


def _rename_only(cur: Cursor) -> bool:
    """Whether the cursor is at SingleStore's rename-only ``CHANGE old new`` (no definition),
    which MariaDB spells ``RENAME COLUMN old TO new``."""
    names = all((t := cur.peek(k)) is not None and t.kind in ("word", "qid") for k in (0, 1))
    return names and (cur.peek(2) is None or cur.is_op(",", k=2) or cur.is_word("TIMEOUT", k=2))


def _alter_op(cur: Cursor, edits: Edits, ops: list[AlterOp], taken: set[str]) -> bool:
    """Parse one ALTER specification into ``ops``; True when it must vanish from the rewrite."""
    word = cur.next().upper
    if word == "ADD":
        if cur.is_word("COLUMN") and cur.is_word("GROUP", k=1):
            cur.p += 2  # COLUMN GROUP
            if not cur.is_op("("):
                cur.name()
            cur.skip_group()
            return True
        if cur.is_word(
            "PRIMARY", "UNIQUE", "KEY", "INDEX", "CONSTRAINT", "FOREIGN", "FULLTEXT", "CHECK"
        ) or cur.is_word("SHARD", "SORT"):
            key = parse_key(cur, edits)
            if key.kind == "FOREIGN":
                ops.append(AddForeignKey(key.foreign))
                return True
            if key.kind in ("SHARD", "SORT", "CLUSTERED"):
                raise Unhandled("ALTER ... ADD SHARD/SORT KEY")
            if key.kind in (rules.PRIMARY, rules.UNIQUE, rules.INDEX):
                name = index_name(key, taken)
                taken.add(name.lower())
                columns = tuple(c for c, _ in key.columns)
                ops.append(
                    AddKey(Key(name, columns, key.kind, key.using, key.unenforced, key.rely))
                )
            rewrite_key(edits, key)
            return False
        cur.accept_word("COLUMN")
        if cur.is_op("("):
            cur.next()
            while True:
                col = column_def(cur, edits)
                ops.append(AddColumn(col.column, col.primary_key, col.unique))
                if cur.accept_op(")"):
                    return False
                cur.expect_op(",")
        col = column_def(cur, edits)
        ops.append(AddColumn(col.column, col.primary_key, col.unique))
        return False
    if word in ("MODIFY", "CHANGE"):
        start = cur.index(-1)
        cur.accept_word("COLUMN")
        if word == "CHANGE" and _rename_only(cur):
            old_token, new_token = cur.next(), cur.next()
            edits.replace(
                start, cur.last_index, f"RENAME COLUMN {old_token.text} TO {new_token.text}"
            )
            ops.append(RenameColumn(old_token.name, new_token.name))
            return False
        old = cur.name() if word == "CHANGE" else cur.peek().name
        col = column_def(cur, edits)
        ops.append(ModifyColumn(old, col.column, col.primary_key, col.unique))
        return False
    if word == "DROP":
        if cur.accept_word("PRIMARY"):
            cur.expect_word("KEY")
            ops.append(DropKey(rules.PRIMARY))
            return False
        if cur.accept_word("FOREIGN"):
            cur.expect_word("KEY")
            if cur.accept_word("IF"):
                cur.expect_word("EXISTS")
            ops.append(DropForeignKey(cur.name()))
            return True
        if cur.accept_word("INDEX", "KEY"):
            ops.append(DropKey(cur.name()))
            return False
        if cur.accept_word("CONSTRAINT", "CHECK"):
            cur.name()
            return False
        cur.accept_word("COLUMN")
        if cur.accept_word("IF"):
            cur.expect_word("EXISTS")
        ops.append(DropColumn(cur.name()))
        return False
    if word == "RENAME":
        if cur.accept_word("COLUMN"):
            old = cur.name()
            cur.expect_word("TO")
            ops.append(RenameColumn(old, cur.name()))
            return False
        if cur.accept_word("INDEX", "KEY"):
            cur.name()
            cur.expect_word("TO")
            cur.name()
            return False
        cur.accept_word("TO", "AS")
        new_db, new_name = cur.qualified_name()
        ops.append(RenameTable(new_name, new_db))
        return False
    if word == "ALTER":
        cur.accept_word("COLUMN")
        column = cur.name()
        if cur.accept_word("SET"):
            cur.expect_word("DEFAULT")
            ops.append(SetDefault(column, parse_default(cur)))
        else:
            cur.expect_word("DROP")
            cur.expect_word("DEFAULT")
            ops.append(SetDefault(column, None))
        return False
    cur.p -= 1
    if word == "DEFAULT" or word in ("CHARACTER", "CHARSET", "COLLATE", "CONVERT"):
        while not cur.at_end() and not cur.is_op(","):
            cur.next()
        return False
    cur.next()
    cur.accept_op("=")
    value_token = cur.next()
    if word == "AUTO_INCREMENT":
        if value_token.kind != "num":
            raise Unhandled("AUTO_INCREMENT value")
        ops.append(SetAutoIncrement(int(value_token.text)))
        return False
    if word == "COMMENT":
        ops.append(SetComment(string_value(value_token)))
        return False
    if word in SINGLESTORE_TABLE_OPTIONS:
        ops.append(SetOption(word, value_token.text))
        return True
    if word in ("ENGINE", "ROW_FORMAT", "KEY_BLOCK_SIZE"):
        ops.append(SetOption(word, value_token.text))
        return False
    raise Unhandled(f"ALTER specification {word}")
