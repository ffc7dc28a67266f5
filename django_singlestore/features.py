"""What SingleStore can do, relative to MySQL; every difference carries its reason."""

from __future__ import annotations

from django.db.backends.mysql.features import DatabaseFeatures as MySQLDatabaseFeatures
from django.utils.functional import cached_property


class DatabaseFeatures(MySQLDatabaseFeatures):
    # singlestoredb's fetchmany() returns a list (MySQLdb returns a tuple).
    empty_fetchmany_value: list = []
    # SingleStore 7.3 made columnstore the default table type this backend is designed around.
    minimum_database_version = (7, 3)

    # Foreign keys are never enforced (older versions refuse the syntax: rule S2-FOREIGN-KEY).
    supports_foreign_keys = False
    can_introspect_foreign_keys = False
    can_create_inline_fk = False
    supports_forward_references = True
    indexes_foreign_keys = False

    # No SAVEPOINT / ROLLBACK TO / RELEASE (rule S2-SAVEPOINT): a failing nested atomic block
    # marks the whole transaction for rollback (docs/backend.md, "Transactions").
    uses_savepoints = False
    can_release_savepoints = False

    # No CHECK constraints in SingleStore's CREATE TABLE grammar.
    supports_column_check_constraints = False
    supports_table_check_constraints = False
    can_introspect_check_constraints = False

    # Only plain column keys: no functional, partial, covering or ordered indexes.
    supports_expression_indexes = False
    supports_partial_indexes = False
    supports_covering_indexes = False
    supports_index_column_ordering = False
    supports_expression_defaults = False
    supports_deferrable_unique_constraints = False
    supports_nulls_distinct_unique_constraints = False
    supports_index_on_text_field = False

    # The protocol says MySQL 5.7.32: no INSERT ... RETURNING, no self-selecting UPDATE.
    can_return_columns_from_insert = False
    can_return_rows_from_bulk_insert = False
    update_can_self_select = False

    # Row locks exist, but not NOWAIT / SKIP LOCKED / OF.
    has_select_for_update = True
    has_select_for_update_nowait = False
    has_select_for_update_skip_locked = False
    has_select_for_update_of = False

    # SingleStore has no UUID type; UUIDs are char(32) as on MySQL.
    has_native_uuid_field = False
    # Zero is an ordinary AUTO_INCREMENT request, never a stored value.
    allows_auto_pk_0 = False
    # ``ALTER TABLE ... AUTO_INCREMENT = n`` is refused on sharded tables (S2-ALTER-AUTOINC-VALUE).
    supports_sequence_reset = False
    # DDL commits implicitly.
    can_rollback_ddl = False
    # No CREATE DATABASE ... from a dump in this backend (mysqldump does not know shard keys).
    can_clone_databases = False
    # Persisted computed columns (``col AS (expr) PERSISTED type``); there are no virtual ones.
    supports_stored_generated_columns = True
    supports_virtual_generated_columns = False
    # JSONObject is rendered as JSON_BUILD_OBJECT by ``django_singlestore.json``.
    has_json_object_function = True
    # ``contains`` on JSONField: only top-level key/value containment is expressible.
    supports_json_field_contains = False
    supports_default_in_lead_lag = True
    supports_explain_analyze = False
    supported_explain_formats = {"JSON", "TEXT"}
    supports_select_intersection = True
    supports_select_difference = True
    allows_group_by_selected_pks = True
    is_sql_auto_is_null_enabled = False
    ignores_table_name_case = False
    can_introspect_json_field = True
    supports_comments = True
    supports_comments_inline = True
    supports_update_conflicts = True
    supports_update_conflicts_with_target = False
    supports_ignore_conflicts = True
    can_rename_index = True

    test_collations = {
        "ci": "utf8mb4_general_ci",
        "non_default": "utf8mb4_unicode_ci",
        "swedish_ci": None,
        "virtual": None,
    }

    @cached_property
    def supports_transactions(self) -> bool:
        """True, unless the alias keeps autocommit on for child-aggregator writes."""
        return not self.connection.keeps_autocommit

    @cached_property
    def has_zoneinfo_database(self) -> bool:
        return self.connection.singlestore_server_data["has_zoneinfo_database"]

    #: Django's own test suite (``make django-suite``): tests that cannot pass on SingleStore,
    #: keyed by the SingleStore rule that stops them.
    django_test_skips: dict[str, set[str]] = {}
