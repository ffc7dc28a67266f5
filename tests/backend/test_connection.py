"""Connecting: server detection, OPTIONS, error classes, transactions without savepoints."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import (
    IntegrityError,
    NotSupportedError,
    connections,
    transaction,
)
from django.db.transaction import TransactionManagementError
from singlestoredb import OperationalError as DriverOperationalError

from django_singlestore.base import DatabaseWrapper, _translate
from tests.backend.backendapp.models import Article, Tag

pytestmark = [pytest.mark.s2]


def wrapper_for(alias: str, **options: object) -> DatabaseWrapper:
    settings_dict = {**connections[alias].settings_dict}
    settings_dict["OPTIONS"] = {**settings_dict["OPTIONS"], **options}
    return DatabaseWrapper(settings_dict, alias=f"{alias}-copy")


@pytest.mark.django_db(databases=["default", "mysql"])
def test_refuses_mysql_and_mariadb_naming_the_host() -> None:
    settings_dict = {**connections["mysql"].settings_dict, "ENGINE": "django_singlestore"}
    wrapper = DatabaseWrapper(settings_dict, alias="not-s2")
    with pytest.raises(ImproperlyConfigured) as raised:
        wrapper.ensure_connection()
    message = str(raised.value)
    assert "is not SingleStore" in message and "@@memsql_version" in message
    assert f"{settings_dict['HOST']}:{settings_dict['PORT']}" in message
    wrapper.close()


def test_host_starting_with_a_slash_is_a_unix_socket() -> None:
    """As on Django's MySQL backend: HOST "/path" is the server's socket, not a host name."""
    settings_dict = {**connections["s2"].settings_dict, "HOST": "/run/mysqld/mysqld.sock"}
    params = DatabaseWrapper(settings_dict, alias="socket").get_connection_params()
    assert params["unix_socket"] == "/run/mysqld/mysqld.sock"
    assert "host" not in params


@pytest.mark.django_db(databases=["default", "mysql"])
def test_unix_socket_reaches_the_server() -> None:
    """Through MariaDB's own socket the driver connects, and the backend then refuses MariaDB
    naming the socket (a wrong path would fail to connect instead)."""
    with connections["mysql"].cursor() as cursor:
        cursor.execute("SELECT @@socket")
        (socket,) = cursor.fetchone()
    settings_dict = {
        **connections["mysql"].settings_dict,
        "ENGINE": "django_singlestore",
        "HOST": socket,
        "PORT": "",
    }
    wrapper = DatabaseWrapper(settings_dict, alias="via-socket")
    with pytest.raises(ImproperlyConfigured, match=f"at {socket} is not SingleStore"):
        wrapper.ensure_connection()
    wrapper.close()


@pytest.mark.django_db(databases=["default", "s2"])
def test_driver_options_pass_through_and_typos_are_reported() -> None:
    wrapper = wrapper_for("s2", local_infile=True, connect_timeout=5)
    wrapper.ensure_connection()
    assert wrapper.connection._local_infile is True
    wrapper.close()
    with pytest.raises(ImproperlyConfigured, match="Unknown SingleStore connection OPTIONS"):
        wrapper_for("s2", local_infiel=True).ensure_connection()


def test_backend_options_are_validated() -> None:
    """Bad backend OPTIONS are refused at use, naming the system check that reports them."""
    with pytest.raises(ImproperlyConfigured, match="unknown SingleStore table storage type"):
        wrapper_for("s2", table_storage_type={"auth": "COLUMNS"}).get_connection_params()
    with pytest.raises(ImproperlyConfigured, match=r"alter_strategy.*django_singlestore\.E022"):
        wrapper_for("s2", alter_strategy="maybe").get_connection_params()
    with pytest.raises(ImproperlyConfigured, match=r"isolation level.*django_singlestore\.E023"):
        wrapper_for("s2", isolation_level="serializable").get_connection_params()
    lenient = wrapper_for("s2", isolation_level="READ COMMITTED")
    assert "isolation_level" not in lenient.get_connection_params()


@pytest.mark.django_db(databases=["default", "s2"])
def test_bad_options_refuse_the_connection_and_the_table_design() -> None:
    """The strict accessor stands in front of the connection and of every OPTIONS reader."""
    wrapper = wrapper_for("s2", not_enforced_unique="events")
    with pytest.raises(ImproperlyConfigured, match=r"django_singlestore\.E021"):
        wrapper.ensure_connection()
    assert wrapper.connection is None
    with pytest.raises(ImproperlyConfigured, match=r"HINT: e\.g\. \['events'\]"):
        wrapper.s2_options.storage_for_app("auth")


@pytest.mark.django_db(databases=["default", "s2"])
def test_duplicate_key_is_integrity_error() -> None:
    Tag.objects.using("s2").create(name="dup")
    with pytest.raises(IntegrityError), transaction.atomic(using="s2"):
        Tag.objects.using("s2").create(name="dup")


@pytest.mark.django_db(databases=["default", "s2"])
def test_unsupported_feature_is_not_supported_error() -> None:
    with pytest.raises(NotSupportedError), connections["s2"].cursor() as cursor:
        cursor.execute("SAVEPOINT s1")


def test_error_translation_keeps_leaf_prefix() -> None:
    text = "Leaf Error (10.0.0.7:3307): Feature 'X' is not supported by SingleStore"
    translated = _translate(DriverOperationalError(1706, text))
    assert type(translated).__name__ == "NotSupportedError"
    assert translated.args[1] == text
    duplicate = _translate(DriverOperationalError(1062, "Leaf Error (h:1): Duplicate entry"))
    assert type(duplicate).__name__ == "IntegrityError"


def test_transactions_on_savepoints_off() -> None:
    features = connections["s2"].features
    assert features.supports_transactions is True
    assert features.uses_savepoints is False


@pytest.mark.django_db(databases=["default", "s2"], transaction=True)
def test_atomic_commits_and_rolls_back() -> None:
    with transaction.atomic(using="s2"):
        Article.objects.using("s2").create(title="kept")
    with pytest.raises(RuntimeError), transaction.atomic(using="s2"):
        Article.objects.using("s2").create(title="dropped")
        raise RuntimeError
    assert list(Article.objects.using("s2").values_list("title", flat=True)) == ["kept"]


@pytest.mark.django_db(databases=["default", "s2"], transaction=True)
def test_failing_nested_atomic_dooms_the_outer_transaction() -> None:
    """No savepoints: an inner failure cannot be undone alone; the outer block rolls back."""
    with pytest.raises(TransactionManagementError), transaction.atomic(using="s2"):
        Article.objects.using("s2").create(title="outer")
        with pytest.raises(RuntimeError), transaction.atomic(using="s2"):
            Article.objects.using("s2").create(title="inner")
            raise RuntimeError
        assert transaction.get_rollback(using="s2") is True
        Article.objects.using("s2").count()  # refused: the transaction must roll back
    assert not Article.objects.using("s2").exists()


@pytest.mark.django_db(databases=["default", "s2"], transaction=True)
def test_successful_nested_atomic_commits_with_outer() -> None:
    with transaction.atomic(using="s2"):
        Article.objects.using("s2").create(title="outer")
        with transaction.atomic(using="s2"):
            Article.objects.using("s2").create(title="inner")
    assert Article.objects.using("s2").count() == 2


def write_reference_row_in_transaction(wrapper: DatabaseWrapper, name: str) -> None:
    wrapper.ensure_connection()
    with wrapper.cursor() as cursor:
        cursor.execute("SET s2emu_child_aggregator = 1")
    try:
        wrapper.set_autocommit(False)
        with wrapper.cursor() as cursor:
            cursor.execute("INSERT INTO backendapp_tag (name) VALUES (%s)", [name])
        wrapper.commit()
    finally:
        wrapper.rollback()
        wrapper.set_autocommit(True)
        wrapper.close()


@pytest.mark.django_db(databases=["default", "s2"], transaction=True)
def test_child_aggregator_option_keeps_autocommit(s2emu: object) -> None:
    """On a child aggregator a reference-table write inside a transaction fails (2549); the
    per-alias option keeps autocommit on so it succeeds, and features report no transactions."""
    with pytest.raises(NotSupportedError, match="child aggregators"):
        write_reference_row_in_transaction(wrapper_for("s2"), "refused")
    wrapper = wrapper_for("s2", child_aggregator=True)
    assert wrapper.features.supports_transactions is False
    write_reference_row_in_transaction(wrapper, "accepted")
    assert list(Tag.objects.using("s2").values_list("name", flat=True)) == ["accepted"]


def test_upstream_skip_autocommit_variable_means_child_aggregator(monkeypatch) -> None:
    monkeypatch.setenv("DJANGO_SINGLESTORE_SKIP_AUTOCOMMIT", "1")
    wrapper = wrapper_for("s2")
    assert wrapper.keeps_autocommit
    assert not wrapper.features.supports_transactions
    monkeypatch.delenv("DJANGO_SINGLESTORE_SKIP_AUTOCOMMIT")
    assert wrapper.keeps_autocommit  # read once: a wrapper never changes its mind mid-run
    assert not wrapper_for("s2").keeps_autocommit
