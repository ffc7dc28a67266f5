"""The backend's OPTIONS as system checks: each id fires with its hint, for the alias it names."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.checks import Error, Warning, run_checks

from django_singlestore.options import STORAGE_ENV_PREFIX, SingleStoreOptions


def option_messages(monkeypatch: pytest.MonkeyPatch, **options: object) -> list:
    """The django_singlestore messages of ``manage.py check`` with these OPTIONS on 's2'."""
    monkeypatch.setitem(
        settings.DATABASES["s2"], "OPTIONS", {**settings.DATABASES["s2"]["OPTIONS"], **options}
    )
    return [m for m in run_checks() if m.id and m.id.startswith("django_singlestore.")]


@pytest.mark.parametrize(
    ("options", "check_id", "in_msg", "in_hint"),
    [
        ({"table_storage_type": "REFERENCE"}, "E020", "must map app labels", "'auth'"),
        ({"table_storage_type": {"auth": "COLUMNS"}}, "E020", "'COLUMNS'", "'ROWSTORE REFERENCE'"),
        ({"not_enforced_unique": "events"}, "E021", "list of app labels", "UNENFORCED"),
        ({"alter_strategy": "maybe"}, "E022", "'maybe'", "'refuse'"),
        ({"isolation_level": "serializable"}, "E023", "'serializable'", "'read committed'"),
        ({"child_aggregator": "sometimes"}, "W020", "read as False", "True or False"),
    ],
)
def test_each_option_problem_is_a_check_with_a_hint(
    monkeypatch: pytest.MonkeyPatch, options: dict, check_id: str, in_msg: str, in_hint: str
) -> None:
    [message] = option_messages(monkeypatch, **options)
    assert message.id == f"django_singlestore.{check_id}"
    assert isinstance(message, Warning if check_id.startswith("W") else Error)
    assert in_msg in message.msg and "DATABASES['s2']['OPTIONS']" in message.msg
    assert in_hint in message.hint
    assert message.obj == "DATABASES['s2']"


def test_good_options_and_other_engines_are_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    assert option_messages(monkeypatch, child_aggregator="yes", alter_strategy="REFUSE") == []
    # The same mistake on a MySQL alias is not ours to judge.
    monkeypatch.setitem(settings.DATABASES["mysql"], "OPTIONS", {"alter_strategy": "maybe"})
    assert option_messages(monkeypatch) == []


def test_a_bad_storage_variable_is_a_check_and_fails_at_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv(STORAGE_ENV_PREFIX + "EVENTS", "ROWSTOR")
    [message] = option_messages(monkeypatch)
    assert (message.id, message.obj) == ("django_singlestore.E020", "environment")
    assert f"${STORAGE_ENV_PREFIX}EVENTS" in message.msg
    with pytest.raises(ImproperlyConfigured, match=r"django_singlestore\.E020"):
        SingleStoreOptions.parse({}, "s2")[0].storage_for_app("events")


def test_every_problem_is_reported_and_the_first_error_raises() -> None:
    from django.core.exceptions import ImproperlyConfigured

    options = {"alter_strategy": "maybe", "isolation_level": "serializable"}
    parsed, problems = SingleStoreOptions.parse(options, "s2")
    assert [p.id for p in problems] == ["django_singlestore.E022", "django_singlestore.E023"]
    assert parsed.alter_strategy == "rebuild"  # the parser's usable value
    with pytest.raises(ImproperlyConfigured, match=r"E022\) \(1 more: run manage.py check\)"):
        SingleStoreOptions.from_settings(options, "s2")
