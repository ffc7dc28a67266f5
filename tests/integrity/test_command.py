"""``manage.py s2_check_integrity``: output, exit codes, and ``--fix`` for every ``on_delete``."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from migration_kit.integrity.scan import AntiJoin
from tests.integrity.integrityapp.models import Author, Book, Comment, Review
from tests.integrity.planting import MISSING, plant


def run(*args: str, **options: Any) -> tuple[int, str, str]:
    """Run the command; return (exit code, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("s2_check_integrity", *args, stdout=out, stderr=err, **options)
        code = 0
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.django_db(databases=["default"])
def test_clean_run_exits_zero_with_a_total() -> None:
    Author.objects.create(code="house")  # Book.publisher's default
    Book.objects.create(author=Author.objects.create(code="a"))
    code, out, err = run("integrityapp.Book", "--database", "default")
    assert code == 0
    assert "fk      integrityapp.Book.author -> integrityapp.Author.id [default, anti-join]" in out
    assert out.strip().endswith("9 relations, 7 rows checked, 0 violations in 0 relations.")
    assert "[8/9] integrityapp.Book_tags.book" in err


@pytest.mark.django_db(databases=["default", "mysql"])
@pytest.mark.parametrize("alias", ["default", "mysql"])
def test_json_document_has_stable_keys_and_exit_one(alias: str) -> None:
    broken = plant(alias)
    code, out, _ = run("integrityapp", database=alias, format="json", sample=1)
    assert code == 1
    document = json.loads(out)
    assert set(document) == {"relations", "total"}
    assert document["total"] == {
        "relations": 21,
        "relations_with_violations": len(broken),
        "rows_checked": sum(r["rows_checked"] for r in document["relations"]),
        "violations": sum(map(len, broken.values())),
    }
    author = next(
        r
        for r in document["relations"]
        if r["field"] == "author" and r["model"] == "integrityapp.Book"
    )
    assert set(author) == {
        "model",
        "field",
        "target",
        "kind",
        "database",
        "target_database",
        "strategy",
        "on_delete",
        "tenant",
        "rows_checked",
        "violations",
        "sample",
        "by_target",
        "seconds",
    }
    assert author["violations"] == 2
    assert len(author["sample"]) == 1
    assert author["sample"][0] in broken["integrityapp.Book.author"]
    ticket = next(r for r in document["relations"] if r["model"] == "integrityapp.Ticket")
    assert ticket["sample"] == [str(pk) for pk in broken["integrityapp.Ticket.author"]]


@pytest.mark.django_db(databases=["default"])
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuchapp"], "unknown app label 'nosuchapp'"),
        (["integrityapp.Nope"], "unknown model 'integrityapp.Nope'"),
        (["--database", "nowhere"], "unknown database alias 'nowhere'"),
        (["--yes"], "--yes only makes sense with --fix"),
        (["--batch-size", "0"], "--batch-size must be at least 1"),
        (["--tenant", "acme"], "TENANCY"),
    ],
)
def test_usage_errors_exit_two(args: list[str], message: str) -> None:
    code, out, err = run(*args)
    assert code == 2
    assert message in err
    assert out == ""


def test_tenant_options_are_exclusive() -> None:
    with pytest.raises(CommandError) as exc:
        call_command("s2_check_integrity", "--tenant", "a", "--all-tenants")
    assert "not allowed with argument" in str(exc.value)


def plant_books(alias: str) -> dict[str, Any]:
    """One broken Book per foreign key of Book, plus what hangs off the CASCADE one."""
    good = Author.objects.using(alias).create(code="good")
    house = Author.objects.using(alias).create(code="house")
    books = Book.objects.using(alias)
    rows = {
        "author": books.create(author_id=MISSING),
        "editor": books.create(author=good, editor_id=MISSING),
        "publisher": books.create(author=good, publisher_id="nobody"),
        "backup": books.create(author=good, backup_id=MISSING),
        "sponsor": books.create(author=good, sponsor_id=MISSING),
        "proofreader": books.create(author=good, proofreader_id=MISSING),
        "ghost": books.create(author=good, ghost_id=MISSING),
    }
    review = Review.objects.using(alias).create(book=rows["author"])
    Review.objects.using(alias).create(book=rows["editor"])
    tag = rows["author"].tags.model.objects.using(alias).create(name="t")
    rows["author"].tags.add(tag)
    return {"rows": rows, "good": good, "house": house, "review": review}


@pytest.mark.django_db(databases=["default", "mysql"])
@pytest.mark.parametrize("alias", ["default", "mysql"])
def test_fix_dry_run_plans_per_on_delete_and_changes_nothing(alias: str) -> None:
    plant_books(alias)
    code, out, _ = run("integrityapp.Book", "--fix", database=alias, format="json")
    assert code == 1
    steps = {s["field"]: s for s in json.loads(out)["fix"]["steps"]}
    # SET(house_author) runs on the routed database (default), as Django's collector would; on
    # mysql that author's id has no row, so the fix refuses to make a new orphan.
    assert {f: s["action"] for f, s in steps.items()} == {
        "author": "delete",
        "editor": "update",
        "publisher": "update",
        "backup": "update" if alias == "default" else "none",
        "sponsor": "none",
        "proofreader": "none",
        "ghost": "none",
    }
    assert steps["author"]["planned"] == {
        "integrityapp.Book": 1,
        "integrityapp.Book_tags": 1,
        "integrityapp.Review": 1,
    }
    assert steps["publisher"]["value"] == "house"
    if alias == "mysql":
        assert "has no target row either; report only" in steps["backup"]["detail"]
    assert steps["editor"]["planned"] == {"integrityapp.Book": 1}
    assert all(s["applied"] is None for s in steps.values())
    assert Book.objects.using(alias).count() == 7
    assert Review.objects.using(alias).count() == 2


@pytest.mark.django_db(databases=["default", "mysql"])
@pytest.mark.parametrize("alias", ["default", "mysql"])
def test_fix_yes_applies_each_on_delete(alias: str) -> None:
    planted = plant_books(alias)
    rows, house = planted["rows"], planted["house"]
    code, out, _ = run("integrityapp.Book", "--fix", "--yes", "--batch-size", "2", database=alias)
    assert code == 1  # PROTECT, RESTRICT and DO_NOTHING stay broken: report only
    assert "Fix plan (applied):" in out
    books = Book.objects.using(alias)
    assert not books.filter(pk=rows["author"].pk).exists()
    assert not Review.objects.using(alias).filter(pk=planted["review"].pk).exists()
    assert Review.objects.using(alias).count() == 1
    assert Book.tags.through.objects.using(alias).count() == 0
    assert books.get(pk=rows["editor"].pk).editor_id is None
    assert books.get(pk=rows["publisher"].pk).publisher_id == "house"
    if alias == "default":
        assert books.get(pk=rows["backup"].pk).backup_id == house.pk
    else:
        assert books.get(pk=rows["backup"].pk).backup_id == MISSING
    for field in ("sponsor", "proofreader", "ghost"):
        assert getattr(books.get(pk=rows[field].pk), f"{field}_id") == MISSING
    after = out.split("After the fix:")[1]
    remaining = 3 if alias == "default" else 4
    assert f"{remaining} violations in {remaining} relations." in after


@pytest.mark.django_db(databases=["default"])
def test_fix_yes_exits_zero_when_everything_was_repaired() -> None:
    good = Author.objects.create(code="good")
    Author.objects.create(code="house")
    broken = [Book.objects.create(author=good, editor_id=MISSING + n) for n in range(5)]
    code, out, _ = run(
        "integrityapp.Book", "--fix", "--yes", "--batch-size", "2", database="default"
    )
    assert code == 0
    assert "changed 5 integrityapp.Book" in out
    assert all(b.editor_id is None for b in Book.objects.filter(pk__in=[b.pk for b in broken]))


@pytest.mark.django_db(databases=["default"])
def test_fix_counts_again_only_the_chunks_the_check_found_broken(monkeypatch) -> None:
    good = Author.objects.create(code="good")
    Author.objects.create(code="house")
    Book.objects.bulk_create([Book(author=good) for _ in range(40)])
    broken = Book.objects.create(author=good, editor_id=MISSING)
    counted: list[str] = []
    count = AntiJoin.count

    def counting(self: AntiJoin, chunk: Any) -> Any:
        counted.append(chunk.sql)
        return count(self, chunk)

    monkeypatch.setattr(AntiJoin, "count", counting)
    args = ("integrityapp.Book", "--batch-size", "5")
    assert run(*args, database="default")[0] == 1
    checked = len(counted)
    assert checked > 9  # every relation, 9 chunks of Book's 41 rows for each FK
    counted.clear()
    code, out, _ = run(*args, "--fix", database="default")
    assert code == 1 and "would change 1 integrityapp.Book" in out
    # The plan counts again only the one chunk of Book.editor the check found broken.
    assert len(counted) == checked + 1
    assert Book.objects.get(pk=broken.pk).editor_id == MISSING


@pytest.mark.django_db(databases=["default"])
def test_fix_leaves_generic_relations_alone() -> None:
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.get_for_model(Author)
    comment = Comment.objects.create(content_type=ct, object_id=MISSING)
    code, out, _ = run("integrityapp.Comment", "--fix", "--yes", database="default")
    assert code == 1
    assert "generic foreign keys have no on_delete; report only" in out
    assert Comment.objects.filter(pk=comment.pk).exists()


@pytest.mark.django_db(databases=["default"])
def test_parent_links_and_composite_keys_are_report_only() -> None:
    from django.db import connection

    from tests.integrity.integrityapp.models import Novel, Stock
    from tests.integrity.planting import unchecked

    Stock.objects.create(shelf="s", author_id=MISSING)
    with unchecked("default"), connection.cursor() as cursor:
        cursor.execute("INSERT INTO integrityapp_novel (book_ptr_id, pages) VALUES (%s, 1)",
                       [MISSING])  # fmt: skip
    code, out, _ = run(
        "integrityapp.Novel.book_ptr", "integrityapp.Stock", "--fix", "--yes", format="json"
    )
    assert code == 1
    document = json.loads(out)
    assert document["relations"][1]["sample"] == [["s", MISSING]]
    details = {s["model"]: s["detail"] for s in document["fix"]["steps"]}
    assert details == {
        "integrityapp.Novel": "multi-table inheritance parent row missing; report only",
        "integrityapp.Stock": "composite primary key; report only",
    }
    assert Stock.objects.count() == 1
    assert list(Novel.objects.all()) == []  # loading joins the missing parent row
    assert Novel.objects.count() == 1  # but the broken row is still there, untouched


@pytest.mark.django_db(databases=["default", "mysql"])
def test_fix_across_databases_checks_the_parents_database() -> None:
    """Children on mysql, parents on default: a parent that exists only on mysql is no help."""
    from django.test import override_settings

    from tests.integrity.test_check import ROUTER

    house = Author.objects.create(code="house")
    good = Author.objects.create(code="good")
    Author.objects.using("mysql").create(pk=MISSING, code="decoy")
    books = Book.objects.using("mysql")
    kept = books.create(author_id=good.pk, publisher_id=house.code)
    orphan = books.create(author_id=MISSING, publisher_id=house.code)
    Review.objects.using("mysql").create(book=orphan)
    unset = books.create(author_id=good.pk, editor_id=MISSING, publisher_id=house.code)
    with override_settings(DATABASE_ROUTERS=[ROUTER]):
        code, out, _ = run("integrityapp.Book", "--fix", "--yes", format="json")
    assert code == 0
    document = json.loads(out)
    steps = {s["field"]: s["applied"] for s in document["fix"]["steps"]}
    assert steps == {
        "author": {"integrityapp.Book": 1, "integrityapp.Review": 1},
        "editor": {"integrityapp.Book": 1},
    }
    assert document["after_fix"]["total"]["violations"] == 0
    assert sorted(books.values_list("pk", flat=True)) == [kept.pk, unset.pk]
    assert books.get(pk=unset.pk).editor_id is None
