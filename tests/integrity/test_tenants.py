"""Tenants (s2router tenancy): each tenant's database is checked and fixed alone.

The integrity test app is routed to the tenancy alias (MariaDB, or SingleStore) with tenancy on;
content types stay on ``default``. Each tenant database holds its own rows, so
``Comment.content_type`` crosses to ``default`` while the other relations join inside the
tenant's database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections
from django.test import override_settings

from migration_kit.integrity import check
from s2router import tenancy
from s2router.tenancy import no_tenant, tenant
from tests.integrity.integrityapp.models import Author, Book, Comment, Profile
from tests.integrity.planting import MISSING, unchecked

TENANTS = ["acme", "globex"]


def tenancy_settings(alias: str) -> dict:
    return {
        "DATABASE_ROUTERS": ["s2router.SingleStoreRouter"],
        "MULTITENANT_MAPPER_CLASS": "tests.integrity.mapper.IntegrityMapper",
        "S2ROUTER": {
            "SINGLESTORE": alias,
            "CONTRIB_DATABASE": "default",
            "ANALYTICS": ["integrityapp"],
            "TENANCY": {"DATABASES": [alias], "TENANTS": TENANTS},
        },
    }


def _drop(alias: str, db_name: str) -> None:
    with no_tenant(), connections[alias].cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {connections[alias].ops.quote_name(db_name)}")


@pytest.fixture(scope="module", params=["mysql", pytest.param("s2", marks=pytest.mark.s2)])
def tenant_dbs(request, django_db_setup, django_db_blocker) -> Iterator[str]:
    """An empty copy of the test app's tables in each tenant's database; dropped afterwards."""
    alias = request.param
    with override_settings(**tenancy_settings(alias)), django_db_blocker.unblock():
        connection = connections[alias]
        models = list(apps.get_app_config("integrityapp").get_models())
        for name in TENANTS:
            db_name = tenancy.resolve(name).db_name
            _drop(alias, db_name)
            with no_tenant(), connection.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(db_name)}")
            # Content types live on default: their constraint has no table to point at here.
            with tenant(name), unchecked(alias), connection.schema_editor() as editor:
                for model in models:
                    editor.create_model(model)
        try:
            yield alias
        finally:
            for name in TENANTS:
                _drop(alias, tenancy.resolve(name).db_name)


@pytest.fixture
def planted(tenant_dbs: str) -> Iterator[str]:
    """acme: one broken Book.author; globex: two, plus a broken Profile and content type."""
    alias = tenant_dbs
    with override_settings(**tenancy_settings(alias)):
        ct = ContentType.objects.get_for_model(Author)
        for name, broken in (("acme", 1), ("globex", 2)):
            with tenant(name), unchecked(alias):
                good = Author.objects.create(code="good")
                Author.objects.create(code="house")
                Book.objects.create(author=good)
                for _ in range(broken):
                    Book.objects.create(author_id=MISSING)
                Comment.objects.create(content_type_id=ct.pk, object_id=good.pk)
                if name == "globex":
                    Profile.objects.create(author_id=MISSING)
                    Comment.objects.create(content_type_id=MISSING, object_id=good.pk)
        try:
            yield alias
        finally:
            for name in TENANTS:
                with tenant(name):
                    for model in apps.get_app_config("integrityapp").get_models():
                        model._base_manager.all()._raw_delete(alias)


def violations(document: dict) -> dict[tuple[str, str], int]:
    return {(r["tenant"], r["model"] + "." + r["field"]): r["violations"]
            for r in document["relations"] if r["violations"]}  # fmt: skip


@pytest.mark.django_db(databases=["default", "mysql", "s2"])
def test_all_tenants_are_checked_each_in_its_database(planted: str) -> None:
    out = StringIO()
    with override_settings(**tenancy_settings(planted)), pytest.raises(CommandError) as exc:
        call_command("s2_check_integrity", "integrityapp", "--all-tenants", format="json",
                     stdout=out, stderr=StringIO())  # fmt: skip
    assert exc.value.returncode == 1
    document = json.loads(out.getvalue())
    assert violations(document) == {
        ("acme", "integrityapp.Book.author"): 1,
        ("globex", "integrityapp.Book.author"): 2,
        ("globex", "integrityapp.Profile.author"): 1,
        ("globex", "integrityapp.Comment.content_type"): 1,
        ("globex", "integrityapp.Comment.target"): 1,
    }
    results = {(r["tenant"], r["field"], r["model"]): r for r in document["relations"]}
    ct = results[("globex", "content_type", "integrityapp.Comment")]
    assert (ct["database"], ct["target_database"], ct["strategy"]) == (planted, "default", "lookup")
    book = results[("acme", "author", "integrityapp.Book")]
    assert (book["database"], book["strategy"], book["rows_checked"]) == (planted, "anti-join", 2)


@pytest.mark.django_db(databases=["default", "mysql", "s2"])
def test_one_tenant_is_checked_and_fixed_alone(planted: str) -> None:
    with override_settings(**tenancy_settings(planted)):
        report = check(["integrityapp.Book"], tenant="acme")
        assert {r.tenant for r in report.relations} == {"acme"}
        assert report.violations == 1
        out = StringIO()
        call_command("s2_check_integrity", "integrityapp.Book", "--tenant", "globex", "--fix",
                     "--yes", stdout=out, stderr=StringIO())  # fmt: skip
        assert "tenant globex" in out.getvalue()
        with tenant("globex"):
            assert Book.objects.count() == 1
        with tenant("acme"):
            assert Book.objects.count() == 2  # untouched
        assert check(["integrityapp.Book"], tenant="globex").ok
        assert not check(["integrityapp.Book"], tenant="acme").ok
