"""The feature flags state only what differs from Django's MySQL backend, and every skip of
Django's own suite names the SingleStore rule behind it."""

import re
from collections.abc import Iterable

import pytest
from django.db import connections
from django.db.backends.mysql.features import DatabaseFeatures as MySQLDatabaseFeatures

from django_singlestore import features, rules
from django_singlestore.features import DatabaseFeatures

_MISSING = object()
#: Django 5.2's MySQL computes these from the server's version (SingleStore reports MySQL
#: 5.7.32), so they are pinned; later releases set the same plain value.
PINNED_FOR_DJANGO_5_2 = {"supports_select_intersection", "supports_select_difference"}


def _plain(value: object) -> bool:
    """A value set in the class body, not a property computed from the server."""
    return not (callable(value) or hasattr(value, "__get__"))


def test_no_flag_restates_a_plain_value_mysql_already_sets() -> None:
    restated = []
    for name, value in vars(DatabaseFeatures).items():
        if name.startswith("_") or not _plain(value):
            continue
        inherited = next(
            (vars(k)[name] for k in MySQLDatabaseFeatures.__mro__ if name in vars(k)), _MISSING
        )
        if name in PINNED_FOR_DJANGO_5_2:
            continue
        if inherited is not _MISSING and _plain(inherited) and inherited == value:
            restated.append(name)
    assert restated == []


# --- Django's own suite: every skip names the SingleStore rule that stops the test -----------

_RULE_ID = re.compile(r"S2-[A-Z0-9]+(?:-[A-Z0-9]+)*")
#: The ids a skip reason may cite: the rule catalogue's, and the behaviours of SKIP_BEHAVIOURS.
KNOWN_IDS = {
    *rules.RULES,
    *rules.SHAPE_RULES,
    rules.SORT_KEY_ROWSTORE.id,
    *features.SKIP_BEHAVIOURS,
}


def _unnamed(reasons: Iterable[str]) -> list[str]:
    """The reasons that cite no known rule id, and the unknown ids cited."""
    problems = []
    for reason in reasons:
        cited = set(_RULE_ID.findall(reason))
        if not cited & KNOWN_IDS:
            problems.append(f"no rule id: {reason}")
        problems += [f"unknown id {i}: {reason}" for i in sorted(cited - KNOWN_IDS)]
    return problems


def test_every_static_skip_reason_names_a_rule() -> None:
    tables = (
        features.SINGLESTORE_TEST_SKIPS,
        features.SINGLESTORE_TEST_SKIPS_6_0,
        features.SINGLESTORE_TEST_SKIPS_6_1,
        features.SINGLESTORE_SHARDED_TEST_SKIPS,
        features.SINGLESTORE_SHARDED_TEST_SKIPS_6_0,
        features.SINGLESTORE_DEFAULT_STORAGE_TEST_SKIPS,
        features.SINGLESTORE_DEFAULT_STORAGE_TEST_SKIPS_6_1,
        features.SINGLESTORE_UNENFORCED_UNIQUE_TEST_SKIPS,
    )
    assert _unnamed(reason for table in tables for reason in table) == []


@pytest.mark.s2
@pytest.mark.django_db(databases=["default", "s2"])
def test_every_skip_of_the_installed_django_names_a_singlestore_rule() -> None:
    """On the installed Django, against the server (MySQL's skips ask mysql_is_mariadb): no
    reason of MySQL's is inherited, each MySQL skip is decided (run here or skipped by the test
    itself), and every reason the suite sees cites a rule id."""
    connection = connections["s2"]
    connection.ensure_connection()
    mysql_skips = MySQLDatabaseFeatures.django_test_skips.func(connection.features)
    skips = connection.features.django_test_skips
    mysql_tests = set().union(*mysql_skips.values())
    assert mysql_tests, "Django's MySQL backend skips tests on every supported release"
    decided = features.IMPLEMENTED_HERE.keys() | features.SKIPPED_OTHERWISE.keys()
    assert mysql_tests - decided == set(), "decide each MySQL skip: run it, or re-key it"
    assert set(mysql_skips).isdisjoint(skips), "a reason of MySQL's is still used"
    assert _unnamed(skips) == []
    skipped = set().union(*skips.values())
    assert skipped.isdisjoint(features.IMPLEMENTED_HERE), "a test both run and skipped"
