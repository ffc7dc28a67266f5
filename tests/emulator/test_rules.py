"""The rules catalogue on hand-built TableSpecs: every rule has an accepted and a refused case."""

import pytest

from django_singlestore import rules as r
from django_singlestore.rules import (
    AddColumn,
    AddForeignKey,
    AddKey,
    Column,
    DropColumn,
    DropKey,
    ForeignKey,
    Key,
    ModifyColumn,
    RenameColumn,
    SetAutoIncrement,
    SetComment,
    Storage,
    TableSpec,
)
from s2emulator import dml, surface

ID = Column("id", "bigint", nullable=False, auto_increment=True)
A = Column("a", "bigint", nullable=False)
B = Column("b", "varchar(20)")
F = Column("f", "double", nullable=False)
PK_ID = Key("PRIMARY", ("id",), r.PRIMARY)


def table(storage=Storage.COLUMNSTORE, keys=(PK_ID,), shard_key=None, columns=(ID, A, B), **kw):
    return TableSpec("t", storage, tuple(columns), tuple(keys), shard_key, **kw)


def ids(violations):
    return [v.rule.id for v in violations]


CREATE_CASES = [
    # (case, spec, expected rule ids)
    ("pk is shard key", table(), []),
    ("keyless, no keys", table(keys=()), []),
    ("keyless via SHARD KEY ()", table(keys=(), shard_key=()), []),
    (
        "unique contains explicit shard key",
        table(keys=(Key("PRIMARY", ("id", "a"), r.PRIMARY),), shard_key=("a",)),
        [],
    ),
    (
        "primary misses explicit shard key",
        table(shard_key=("a",)),
        ["S2-SHARD-UNIQUE"],
    ),
    (
        "unique misses pk shard key (rowstore too)",
        table(Storage.ROWSTORE, keys=(PK_ID, Key("u", ("b",), r.UNIQUE))),
        ["S2-SHARD-UNIQUE"],
    ),
    (
        "unenforced unique is exempt",
        table(keys=(PK_ID, Key("u", ("b",), r.UNIQUE, unenforced=True, rely=True))),
        [],
    ),
    (
        "reference table: any unique key",
        table(Storage.ROWSTORE_REFERENCE, keys=(PK_ID, Key("u", ("a", "b"), r.UNIQUE))),
        [],
    ),
    (
        "unique with empty shard key",
        table(shard_key=()),
        ["S2-EMPTY-SHARD-UNIQUE"],
    ),
    ("reference without pk", table(Storage.REFERENCE, keys=()), ["S2-REFERENCE-NO-PK"]),
    ("rowstore reference with pk", table(Storage.ROWSTORE_REFERENCE), []),
    (
        "columnstore: pk + multi-column unique",
        table(keys=(PK_ID, Key("u", ("id", "a"), r.UNIQUE))),
        ["S2-COLUMNSTORE-MULTI-UNIQUE"],
    ),
    (
        "rowstore: pk + multi-column unique",
        table(Storage.ROWSTORE, keys=(PK_ID, Key("u", ("id", "a"), r.UNIQUE))),
        [],
    ),
    (
        "columnstore: two single-column uniques",
        table(keys=(PK_ID, Key("u", ("id",), r.UNIQUE))),
        [],
    ),
    (
        "columnstore float pk",
        table(keys=(Key("PRIMARY", ("f",), r.PRIMARY),), columns=(F, A)),
        ["S2-FLOAT-PK"],
    ),
    (
        "rowstore float pk",
        table(Storage.ROWSTORE, keys=(Key("PRIMARY", ("f",), r.PRIMARY),), columns=(F, A)),
        [],
    ),
    (
        "two hash indexes, same columns",
        table(keys=(PK_ID, Key("h1", ("b",), using="HASH"), Key("h2", ("B",), using="HASH"))),
        ["S2-HASH-DUPLICATE"],
    ),
    (
        "hash and btree on the same columns",
        table(keys=(PK_ID, Key("h1", ("b",), using="HASH"), Key("h2", ("b",), using="BTREE"))),
        [],
    ),
]


@pytest.mark.parametrize(
    ("case", "spec", "expected"), CREATE_CASES, ids=[c[0] for c in CREATE_CASES]
)
def test_check_table(case, spec, expected):
    assert ids(r.check_table(spec)) == expected


def test_foreign_keys_depend_on_version():
    spec = table(foreign_keys=(ForeignKey("fk", ("a",), "other", ("id",)),))
    assert ids(r.check_table(spec, (7, 8))) == ["S2-FOREIGN-KEY"]
    assert r.check_table(spec, (8, 9)) == []


def test_violation_carries_server_text_and_number():
    (violation,) = r.check_table(table(shard_key=("a",)))
    assert violation.message == (
        "The unique key named: 'PRIMARY' cannot be created because unique keys must contain "
        "all columns of the shard key"
    )
    assert violation.sqlstate == "HY000"
    assert violation.errno == violation.rule.errno
    (empty,) = r.check_table(table(shard_key=()))
    assert empty.errno == 1896
    assert "named: 'PRIMARY' when using an empty shard key" in empty.message


def test_effective_shard_key():
    assert table().effective_shard_key() == ("id",)
    assert table(keys=()).effective_shard_key() == ()
    assert table(shard_key=("a",)).effective_shard_key() == ("a",)
    assert table(Storage.REFERENCE).effective_shard_key() == ()
    assert not table(Storage.REFERENCE).is_sharded
    assert table(keys=()).is_sharded


ALTER_CASES = [
    # (case, storage, ops, expected first rule id or None)
    ("add nullable column", Storage.COLUMNSTORE, [AddColumn(Column("c", "int"))], None),
    ("drop plain column", Storage.COLUMNSTORE, [DropColumn("b")], None),
    ("rename column", Storage.COLUMNSTORE, [RenameColumn("b", "c")], None),
    (
        "type change on columnstore",
        Storage.COLUMNSTORE,
        [ModifyColumn("b", Column("b", "varchar(40)"))],
        "S2-ALTER-TYPE",
    ),
    (
        "type change on rowstore",
        Storage.ROWSTORE,
        [ModifyColumn("b", Column("b", "varchar(40)"))],
        None,
    ),
    (
        "same type, comment only",
        Storage.COLUMNSTORE,
        [ModifyColumn("b", Column("b", "VARCHAR(20)", comment="x"))],
        None,
    ),
    (
        "null to not null on columnstore",
        Storage.COLUMNSTORE,
        [ModifyColumn("b", Column("b", "varchar(20)", nullable=False))],
        "S2-ALTER-NOT-NULL",
    ),
    (
        "not null to null on columnstore",
        Storage.COLUMNSTORE,
        [ModifyColumn("a", Column("a", "bigint"))],
        None,
    ),
    (
        "add unique on columnstore",
        Storage.COLUMNSTORE,
        [AddKey(Key("u", ("id",), r.UNIQUE))],
        "S2-ALTER-ADD-UNIQUE",
    ),
    (
        "add unique containing the shard key on rowstore",
        Storage.ROWSTORE,
        [AddKey(Key("u", ("id", "b"), r.UNIQUE))],
        None,
    ),
    (
        "add unique missing the shard key on rowstore",
        Storage.ROWSTORE,
        [AddKey(Key("u", ("b",), r.UNIQUE))],
        "S2-SHARD-UNIQUE",
    ),
    (
        "add foreign key on columnstore",
        Storage.COLUMNSTORE,
        [AddForeignKey(ForeignKey("fk", ("a",), "o", ("id",)))],
        "S2-ALTER-ADD-UNIQUE",
    ),
    ("drop primary on columnstore", Storage.COLUMNSTORE, [DropKey("PRIMARY")], "S2-ALTER-PRIMARY"),
    (
        "drop primary of a reference table",
        Storage.ROWSTORE_REFERENCE,
        [DropKey("PRIMARY")],
        "S2-REFERENCE-NO-PK",
    ),
    ("drop plain index", Storage.COLUMNSTORE, [DropKey("ix")], None),
    (
        "drop primary-key column on columnstore",
        Storage.COLUMNSTORE,
        [DropColumn("id")],
        "S2-ALTER-PRIMARY",
    ),
    (
        "add auto_increment on columnstore",
        Storage.COLUMNSTORE,
        [ModifyColumn("a", Column("a", "bigint", nullable=False, auto_increment=True))],
        "S2-ALTER-AUTOINC-COLUMN",
    ),
    (
        "auto_increment reset, sharded",
        Storage.ROWSTORE,
        [SetAutoIncrement(5)],
        "S2-ALTER-AUTOINC-VALUE",
    ),
    ("auto_increment reset, reference", Storage.ROWSTORE_REFERENCE, [SetAutoIncrement(5)], None),
    ("change table comment", Storage.ROWSTORE, [SetComment("new")], "S2-ALTER-COMMENT"),
    ("same table comment", Storage.ROWSTORE, [SetComment("")], None),
    (
        "rename auto_increment column of a reference table",
        Storage.ROWSTORE_REFERENCE,
        [RenameColumn("id", "pk")],
        "S2-RENAME-REFERENCE-AUTOINC",
    ),
]


@pytest.mark.parametrize(
    ("case", "storage", "ops", "expected"), ALTER_CASES, ids=[c[0] for c in ALTER_CASES]
)
def test_check_alter(case, storage, ops, expected):
    spec = table(storage, keys=(PK_ID, Key("ix", ("b",))))
    found = r.check_alter(spec, ops)
    assert (found[0].rule.id if found else None) == expected


def test_explicit_shard_key_cannot_be_dropped_on_columnstore():
    spec = table(keys=(Key("ix", ("b",)),), shard_key=("a",))
    (violation,) = r.check_alter(spec, [DropColumn("a")])[:1]
    assert violation.message == (
        "ALTER TABLE which drops shard index `__SHARDKEY` on sharded table is not supported on "
        "a columnstore table."
    )
    assert ids(r.check_alter(spec, [DropKey("__SHARDKEY")])) == ["S2-ALTER-DROP-SHARD"]
    rowstore = spec.with_changes(storage=Storage.ROWSTORE)
    assert "S2-ALTER-DROP-SHARD" not in ids(r.check_alter(rowstore, [DropColumn("a")]))


def test_alter_does_not_blame_a_table_for_what_it_already_broke():
    legacy = table(keys=(PK_ID, Key("u", ("id", "a"), r.UNIQUE)))  # created outside the rules
    assert ids(r.check_table(legacy)) == ["S2-COLUMNSTORE-MULTI-UNIQUE"]
    assert r.check_alter(legacy, [AddColumn(Column("c", "int"))]) == []


def test_primary_key_cannot_be_added_after_creation():
    spec = table(Storage.ROWSTORE, keys=())
    ops = [AddKey(Key("PRIMARY", ("id",), r.PRIMARY))]
    assert ids(r.check_alter(spec, ops))[0] == "S2-ADD-PRIMARY-KEY"
    inline = [AddColumn(Column("n", "bigint", nullable=False), primary_key=True)]
    assert ids(r.check_alter(spec, inline))[0] == "S2-ADD-PRIMARY-KEY"


def test_apply_alter_tracks_renames_in_keys_and_shard_key():
    spec = table(Storage.ROWSTORE, shard_key=("id",), sort_key=(("a", True),))
    after = r.apply_alter(
        spec, [RenameColumn("id", "pk"), ModifyColumn("a", Column("aa", "bigint")), DropColumn("b")]
    )
    assert [c.name for c in after.columns] == ["pk", "aa"]
    assert after.primary_key().columns == ("pk",)
    assert after.shard_key == ("pk",)
    assert after.sort_key == (("aa", True),)


def test_update_rules():
    spec = table()
    assert ids(dml.check_update(spec, ["b"])) == []
    assert ids(dml.check_update(spec, ["ID"])) == ["S2-UPDATE-SHARD-KEY"]
    assert ids(dml.check_update(spec, ["b"], has_limit=True)) == ["S2-UPDATE-LIMIT"]
    reference = table(Storage.REFERENCE)
    assert dml.check_update(reference, ["id"], has_limit=True) == []


def test_savepoint_and_reference_writes():
    assert dml.check_savepoint().rule.id == "S2-SAVEPOINT"
    reference = table(Storage.REFERENCE)
    assert dml.check_reference_write(reference, in_transaction=True, child_aggregator=False) == []
    assert dml.check_reference_write(table(), in_transaction=True, child_aggregator=True) == []
    (violation,) = dml.check_reference_write(reference, in_transaction=True, child_aggregator=True)
    assert violation.errno == 2549
    assert violation.message.startswith("Writing to a reference table in multi-statement")


def test_rule_versions_and_parse_version():
    assert r.parse_version("8.9.3-abc") == (8, 9, 3)
    with pytest.raises(ValueError, match="not a SingleStore version"):
        r.parse_version("latest")
    assert r.FOREIGN_KEY_SYNTAX.applies_to((8, 0, 19))
    assert not r.FOREIGN_KEY_SYNTAX.applies_to((8, 1))


def test_catalogue_is_complete_and_sourced():
    for rule in r.RULES.values():
        assert rule.source and rule.hint and rule.message, rule.id
        assert rule.sqlstate == "HY000"
    assert surface.JSON_OPERATORS["::$"] == "JSON_EXTRACT_STRING"
    assert "JSON_MATCH_ANY_EXISTS" in surface.JSON_FUNCTIONS
    assert "memsql_version" in surface.SINGLESTORE_VARIABLES


def test_storage_words():
    assert Storage.from_words(rowstore=True, reference=True) is Storage.ROWSTORE_REFERENCE
    assert Storage.from_words(rowstore=False, reference=False) is Storage.COLUMNSTORE
    assert Storage.REFERENCE.is_columnstore and Storage.REFERENCE.is_reference
    assert Storage.ROWSTORE.information_schema_type == "INMEMORY_ROWSTORE"
