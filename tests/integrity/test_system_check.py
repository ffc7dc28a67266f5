"""The system-check hook: silent without databases, one E701 per broken relation with them."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core import checks
from django.core.checks.registry import CheckRegistry

from migration_kit.integrity.checks import integrity_check
from tests.integrity.integrityapp.models import Author, Book
from tests.integrity.planting import MISSING


def test_no_databases_no_queries() -> None:
    assert integrity_check() == []


@pytest.mark.django_db(databases=["default", "mysql"])
def test_one_error_per_broken_relation_on_each_database() -> None:
    config = [apps.get_app_config("integrityapp")]
    Author.objects.create(code="house")  # Book.publisher's default
    Author.objects.using("mysql").create(code="house")
    assert integrity_check(config, databases=["default", "mysql"]) == []
    book = Book.objects.create(author_id=MISSING)
    Book.objects.using("mysql").create(author_id=MISSING, editor_id=MISSING)
    errors = integrity_check(config, databases=["default", "mysql"])
    assert [e.id for e in errors] == ["migration_kit.E701"] * 3
    assert all(e.obj is Book for e in errors)
    first = errors[0]
    assert first.msg == (
        "integrityapp.Book.author -> integrityapp.Author.id: 1 of 1 rows on 'default' point at "
        f"nothing (sample primary keys: [{book.pk}])."
    )
    assert "s2_check_integrity integrityapp.Book --database default" in first.hint
    assert [e.msg.split(":")[0] for e in errors[1:]] == [
        "integrityapp.Book.author -> integrityapp.Author.id",
        "integrityapp.Book.editor -> integrityapp.Author.id",
    ]
    assert "on 'mysql'" in errors[1].msg


@pytest.mark.django_db(databases=["default"])
def test_can_be_registered_under_the_database_tag() -> None:
    registry = CheckRegistry()
    registry.register(integrity_check, checks.Tags.database)
    Author.objects.create(code="house")  # Book.publisher's default
    assert registry.run_checks(tags=[checks.Tags.database], databases=["default"]) == []
    Book.objects.create(author_id=MISSING)
    found = registry.run_checks(tags=[checks.Tags.database], databases=["default"])
    assert [e.id for e in found] == ["migration_kit.E701"]
