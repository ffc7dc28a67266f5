"""JSONField on SingleStore, and proof that its SQL is attached to this vendor only."""

import pytest
from django.db import NotSupportedError
from django.db import connection as default_connection
from django.db.models import F, JSONField, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, JSONObject
from django.test.utils import CaptureQueriesContext

from django_singlestore.versions import DJANGO_6_1
from tests.backend.backendapp.models import Doc

pytestmark = [pytest.mark.s2, pytest.mark.django_db(databases=["default", "s2"])]

DOCS = [
    {"name": "Alpha", "n": 1, "tags": ["x", "y"], "nested": {"k": "v", "list": [10, 20]}},
    {"name": "beta", "n": 2, "tags": [], "nested": {"k": "w"}, "nullable": None},
    {"name": "Gamma", "n": 3.5, "flag": True},
    [1, 2, 3],
    "just a string",
]


def load(alias: str) -> None:
    Doc.objects.using(alias).bulk_create([Doc(data=value) for value in DOCS])
    Doc.objects.using(alias).create(data=None)


def names(alias: str, **lookup: object) -> list:
    return sorted(
        str(d.data.get("name")) if isinstance(d.data, dict) else repr(d.data)
        for d in Doc.objects.using(alias).filter(**lookup)
    )


CASES = [
    ({"data__name": "Alpha"}, ["Alpha"]),
    ({"data__n": 2}, ["beta"]),
    ({"data__n__gt": 1}, ["Gamma", "beta"]),
    ({"data__n__lte": 2}, ["Alpha", "beta"]),
    ({"data__nested__k": "w"}, ["beta"]),
    ({"data__nested__list__1": 20}, ["Alpha"]),
    ({"data__tags__0": "x"}, ["Alpha"]),
    ({"data__has_key": "flag"}, ["Gamma"]),
    ({"data__has_keys": ["name", "tags"]}, ["Alpha", "beta"]),
    ({"data__has_any_keys": ["flag", "nullable"]}, ["Gamma", "beta"]),
    ({"data__nested__has_key": "list"}, ["Alpha"]),
    ({"data__nullable": None}, ["beta"]),
    ({"data__nullable__isnull": False}, ["beta"]),
    ({"data__name__icontains": "AMM"}, ["Gamma"]),
    ({"data__name__istartswith": "al"}, ["Alpha"]),
    ({"data__name__iexact": "BETA"}, ["beta"]),
    ({"data__name__startswith": "Al"}, ["Alpha"]),
    ({"data__name__in": ["Alpha", "Gamma"]}, ["Alpha", "Gamma"]),
    ({"data__nested": {"k": "w"}}, ["beta"]),
    ({"data__flag": True}, ["Gamma"]),
    ({"data__flag__isnull": True}, ["'just a string'", "Alpha", "None", "[1, 2, 3]", "beta"]),
    ({"data__icontains": "ALPH"}, ["Alpha"]),
    ({"data__contains": {"name": "beta", "n": 2}}, ["beta"]),
    ({"data__contains": {"nullable": None}}, ["beta"]),
    ({"data__nested__contains": {"k": "v"}}, ["Alpha"]),
]


@pytest.mark.parametrize(("lookup", "expected"), CASES, ids=[next(iter(c[0])) for c in CASES])
def test_lookup_on_singlestore(lookup: dict, expected: list) -> None:
    load("s2")
    assert names("s2", **lookup) == expected


def test_exclude_key_none_matches_postgresql() -> None:
    load("s2")
    load("default")
    lookup = {"data__nullable": None}
    assert names("s2", **lookup) == names("default", **lookup) == ["beta"]
    excluded = sorted(str(d.data) for d in Doc.objects.using("s2").exclude(**lookup))
    assert excluded == sorted(str(d.data) for d in Doc.objects.using("default").exclude(**lookup))


def test_key_missing_is_null_and_values() -> None:
    load("s2")
    # A NULL document counts as lacking the key, as on PostgreSQL.
    assert len(names("s2", data__flag__isnull=True)) == 5
    values = (
        Doc.objects.using("s2").filter(data__name="Alpha").values_list("data__nested", "data__n")
    )
    assert list(values) == [({"k": "v", "list": [10, 20]}, 1)]
    texts = Doc.objects.using("s2").filter(data__has_key="name").annotate(t=KT("data__name"))
    assert sorted(texts.values_list("t", flat=True)) == ["Alpha", "Gamma", "beta"]


def test_contains_beyond_scalars_is_refused_clearly() -> None:
    with pytest.raises(NotSupportedError, match="non-empty dict of scalar values"):
        list(Doc.objects.using("s2").filter(data__contains={"tags": ["x"]}))
    with pytest.raises(NotSupportedError, match="contained_by"):
        list(Doc.objects.using("s2").filter(data__contained_by={"a": 1}))


def test_json_object_and_cast() -> None:
    Doc.objects.using("s2").create(data={"a": 1})
    row = (
        Doc.objects.using("s2")
        .annotate(obj=JSONObject(one=Value(1), name=Value("x")))
        .annotate(cast=Cast(Value('{"z": 2}'), JSONField()))
        .get()
    )
    assert row.obj == {"one": 1, "name": "x"}
    assert row.cast == {"z": 2}


def test_singlestore_sql_uses_its_own_json_functions() -> None:
    query = Doc.objects.using("s2").filter(data__nested__k="w", data__has_key="a").query
    sql, _ = query.get_compiler("s2").as_sql()
    assert "JSON_EXTRACT_JSON" in sql and "JSON_MATCH_ANY_EXISTS" in sql


def test_postgresql_json_queries_unaffected_in_same_process() -> None:
    """The same lookups on PostgreSQL, after SingleStore's ran: PostgreSQL SQL, same answers."""
    load("s2")
    load("default")
    with CaptureQueriesContext(default_connection) as queries:
        for lookup, expected in CASES:
            assert names("default", **lookup) == expected, lookup
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "JSON_EXTRACT_" not in sql and "JSON_MATCH_ANY_EXISTS" not in sql
    assert "->" in sql and "?" in sql


def test_key_compared_with_another_key() -> None:
    """``data__n__gt=F("data__m")`` compares the two keys' numbers on the server."""
    Doc.objects.using("s2").bulk_create(
        [Doc(data={"n": 5, "m": 2}), Doc(data={"n": 2, "m": 5}), Doc(data={"n": 2, "m": 2})]
    )
    docs = Doc.objects.using("s2")
    assert sorted(d.data["n"] for d in docs.filter(data__n__gt=F("data__m"))) == [5]
    assert sorted(d.data["n"] for d in docs.filter(data__n__lte=F("data__m"))) == [2, 2]


def test_negative_array_index_is_refused_as_django_expects() -> None:
    """JSON_EXTRACT_<type> takes no index from the end: Django's NotSupportedError, not an
    empty result."""
    load("s2")
    with pytest.raises(NotSupportedError, match="negative JSON array indices"):
        list(Doc.objects.using("s2").filter(**{"data__tags__-1": "y"}))


@pytest.mark.skipif(not DJANGO_6_1, reason="key__iexact=None and JSONNull() are Django 6.1's")
def test_key_json_null_in_iexact_and_in() -> None:
    """``key__iexact=None`` and ``JSONNull()`` inside ``key__in`` match a JSON null value."""
    from django.db.models import JSONNull

    load("s2")
    assert names("s2", data__nullable__iexact=None) == ["beta"]
    assert names("s2", data__nullable__in=[JSONNull(), "Alpha"]) == ["beta"]
    assert names("s2", data__name__in=[JSONNull(), "Alpha"]) == ["Alpha"]
