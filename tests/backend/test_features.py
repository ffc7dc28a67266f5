"""The feature flags state only what differs from Django's MySQL backend."""

from django.db.backends.mysql.features import DatabaseFeatures as MySQLDatabaseFeatures

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
