"""What SingleStore can do, relative to MySQL; every difference carries its reason."""

from __future__ import annotations

from django.db.backends.mysql.features import DatabaseFeatures as MySQLDatabaseFeatures
from django.utils.functional import cached_property

from django_singlestore.rules import Storage
from django_singlestore.versions import DJANGO_6_0, DJANGO_6_1

#: The SingleStore behaviours skip reasons cite that are not refusals of the rule catalogue
#: (``rules.RULES``, ``rules.SHAPE_RULES``): id -> the behaviour and where it is documented
#: (``singlestore-rules.md`` is the team's digest, shared/reference/). Every reason in
#: ``django_test_skips`` names a catalogue rule or one of these (tests/backend/test_features.py).
SKIP_BEHAVIOURS: dict[str, str] = {
    "S2-STORAGE": "a table's storage is part of its CREATE statement (CREATE [ROWSTORE] "
    "[REFERENCE] TABLE; columnstore by default): singlestore-rules.md, Tables",
    "S2-AUTOINC-BIGINT": "AUTO_INCREMENT columns of sharded tables are BIGINT: "
    "singlestore-rules.md, Tables (AUTO_INCREMENT)",
    "S2-DEFAULT-CONSTANT": "a column DEFAULT is a constant (CREATE TABLE's column_definition: "
    "DEFAULT <default_value>); whether newer releases take some expressions is not checked, "
    "the backend assumes none (supports_expression_defaults = False)",
    "S2-JSON-PATH": "JSON key paths are the separate arguments of JSON_EXTRACT_<type>, not a "
    "'$.a' string: singlestore-rules.md, Types and functions",
    "S2-JSON-CONTAINS": "no JSON document containment function (MySQL's JSON_CONTAINS); "
    "JSON_ARRAY_CONTAINS_<type> tests an array's top-level elements only (SingleStore's JSON "
    "function reference; not verified against a real server)",
    "S2-NO-ROW-ORDER": "a SELECT without ORDER BY returns rows in any order: "
    "singlestore-rules.md, Transactions and DML",
}

_NO_SAVEPOINT_IN_TEST = (
    "SingleStore has no savepoints (S2-SAVEPOINT): a failing atomic() block inside the test "
    "case's transaction marks the whole transaction for rollback."
)

SINGLESTORE_TEST_SKIPS: dict[str, set[str]] = {
    _NO_SAVEPOINT_IN_TEST: {
        "get_or_create.tests.GetOrCreateTests.test_get_or_create_invalid_params",
        # update_or_create()'s create hits the other thread's row: the IntegrityError poisons
        # its transaction, so its locking re-read never happens.
        "get_or_create.tests.UpdateOrCreateTransactionTests.test_creation_in_transaction",
        "get_or_create.tests.GetOrCreateTestsWithManualPKs.test_create_with_duplicate_primary_key",
        "get_or_create.tests.GetOrCreateTestsWithManualPKs.test_savepoint_rollback",
        "get_or_create.tests.GetOrCreateThroughManyToMany.test_something",
        "get_or_create.tests.UpdateOrCreateTests.test_integrity",
        "get_or_create.tests.UpdateOrCreateTests.test_manual_primary_key_test",
        "get_or_create.tests.UpdateOrCreateTestsWithManualPKs."
        "test_create_with_duplicate_primary_key",
        "many_to_many.tests.ManyToManyTests.test_add",
        "many_to_one.tests.ManyToOneTests.test_fk_assignment_and_related_object_cache",
        "model_fields.test_booleanfield.BooleanFieldTests.test_null_default",
        "model_fields.test_floatfield.TestFloatField.test_float_validates_object",
        # The admin's views run in atomic(); a view that raises PermissionDenied, a 400, or the
        # test's injected DatabaseError leaves the test case's transaction unusable.
        "admin_changelist.tests.ChangeListTests.test_list_editable_atomicity",
        "admin_views.tests.AdminViewBasicTest.test_disallowed_to_field",
        "admin_views.tests.AdminViewListEditable."
        "test_forged_post_submission_when_no_add_permission",
        "admin_views.tests.AdminViewPermissionsTest.test_add_view",
        "admin_views.tests.AdminViewPermissionsTest.test_change_view",
        "admin_views.tests.AdminViewPermissionsTest.test_change_view_save_as_new",
        "admin_views.tests.AdminViewPermissionsTest.test_delete_view",
        "auth_tests.test_views.ChangelistTests.test_view_user_password_is_readonly",
        # loaddata runs in atomic(); its CommandError (unknown app or fixture) is raised inside.
        "fixtures.tests.FixtureLoadingTests.test_loaddata_app_option",
        "fixtures.tests.FixtureLoadingTests.test_unmatched_identifier_loading",
        "fixtures_model_package.tests.FixtureTestCase.test_loaddata",
        # A ValueError/IntegrityError raised inside atomic(), then more queries.
        "force_insert_update.tests.ForceTests.test_force_update",
        "multiple_database.tests.QueryTestCase.test_generic_key_cross_database_protection",
        "multiple_database.tests.QueryTestCase.test_m2m_cross_database_protection",
        # The database session's save() of a deleted session fails inside its atomic() (the
        # UpdateError the test expects); the test's next query then finds the transaction broken.
        "sessions_tests.tests.CacheDBSessionTests.test_session_save_does_not_resurrect_session_logged_out_in_other_context",
        "sessions_tests.tests.CacheDBSessionTests.test_session_asave_does_not_resurrect_session_logged_out_in_other_context",
        "sessions_tests.tests.CacheDBSessionWithTimeZoneTests.test_session_save_does_not_resurrect_session_logged_out_in_other_context",
        "sessions_tests.tests.CacheDBSessionWithTimeZoneTests.test_session_asave_does_not_resurrect_session_logged_out_in_other_context",
        "sessions_tests.tests.CustomDatabaseSessionTests.test_session_save_does_not_resurrect_session_logged_out_in_other_context",
        "sessions_tests.tests.CustomDatabaseSessionTests.test_session_asave_does_not_resurrect_session_logged_out_in_other_context",
        "sessions_tests.tests.DatabaseSessionTests.test_session_save_does_not_resurrect_session_logged_out_in_other_context",
        "sessions_tests.tests.DatabaseSessionTests.test_session_asave_does_not_resurrect_session_logged_out_in_other_context",
        "sessions_tests.tests.DatabaseSessionWithTimeZoneTests.test_session_save_does_not_resurrect_session_logged_out_in_other_context",
        "sessions_tests.tests.DatabaseSessionWithTimeZoneTests.test_session_asave_does_not_resurrect_session_logged_out_in_other_context",
    },
    "SingleStore has no savepoints (S2-SAVEPOINT): these tests roll back a nested atomic() "
    "block and expect the outer block, and its on_commit() callbacks, to go on.": {
        "transaction_hooks.tests.TestConnectionOnCommit.test_discards_hooks_from_rolled_back_savepoint",
        "transaction_hooks.tests.TestConnectionOnCommit.test_inner_savepoint_does_not_affect_outer",
        "transaction_hooks.tests.TestConnectionOnCommit.test_inner_savepoint_rolled_back_with_outer",
        "test_utils.tests.CaptureOnCommitCallbacksTests.test_with_rolled_back_savepoint",
    },
    "SingleStore has no savepoints (S2-SAVEPOINT), so Django's TestCase runs setUpTestData() "
    "before each test inside that test's atomic block, not once in setUpClass() as these tests "
    "assume (its TestData copies of the class attributes; its rollback when setUpTestData() "
    "raises, which per test Django leaves open for every later test of the run).": {
        "test_utils.tests.TestBadSetUpTestData."
        "test_failure_in_setUpTestData_should_rollback_transaction",
        "test_utils.test_testcase.TestDataTests.test_class_attribute_identity",
    },
    "SingleStore keeps no foreign keys (S2-FOREIGN-KEY), so check_constraints(), which loaddata "
    "runs, finds no foreign key to check and a dangling reference is not an IntegrityError.": {
        "fixtures_regress.tests.TestFixtures."
        "test_loaddata_raises_error_when_fixture_has_invalid_foreign_key",
    },
    "A SingleStore column DEFAULT is a constant, not an expression (S2-DEFAULT-CONSTANT; "
    "supports_expression_defaults = False), so field_defaults.DBArticle (required_db_features) "
    "has no table; this test uses it without Django's skipUnlessDBFeature.": {
        "field_defaults.tests.DefaultTests.test_full_clean",
    },
    "A reference table needs its PRIMARY KEY at all times; it cannot be dropped and re-added "
    "(S2-REFERENCE-NO-PK, S2-ADD-PRIMARY-KEY).": {
        "migrations.test_operations.OperationTests.test_alter_id_pk_to_uuid_pk",
        "migrations.test_operations.OperationTests.test_composite_pk_operations",
        "schema.tests.SchemaTests.test_add_auto_field",
        "schema.tests.SchemaTests.test_alter_int_pk_to_int_unique",
        "schema.tests.SchemaTests.test_alter_not_unique_field_to_primary_key",
        "schema.tests.SchemaTests.test_primary_key",
    },
    "A reference table's AUTO_INCREMENT column cannot be renamed (S2-RENAME-REFERENCE-AUTOINC).": {
        "schema.tests.SchemaTests.test_alter_pk_with_self_referential_field",
        "schema.tests.SchemaTests.test_autofield_to_o2o",
    },
    "A table comment cannot be changed after creation (S2-ALTER-COMMENT); the backend rebuilds "
    "the table only from a model state that already carries the new comment.": {
        "schema.tests.SchemaTests.test_db_comment_table",
    },
    "SingleStore tables are created with their storage words (CREATE ROWSTORE REFERENCE TABLE; "
    "S2-STORAGE), which these assertions on the SQL text do not expect.": {
        "migrations.test_commands.MigrateTests.test_sqlmigrate_forwards",
        "migrations.test_commands.MigrateTests.test_migrate_syncdb_app_label",
        "migrations.test_commands.MigrateTests."
        "test_migrate_syncdb_deferred_sql_executed_with_schemaeditor",
        "schema.tests.SchemaTests.test_m2m",
        "schema.tests.SchemaTests.test_m2m_custom",
        "schema.tests.SchemaTests.test_m2m_inherited",
    },
    "AutoField is BIGINT AUTO_INCREMENT (SingleStore requires AUTO_INCREMENT columns of sharded "
    "tables to be BIGINT: S2-AUTOINC-BIGINT), so a foreign key to it is BIGINT, not the INT these "
    "tests expect.": {
        "schema.tests.SchemaTests.test_alter_field_fk_to_o2o",
        "schema.tests.SchemaTests.test_m2m_create",
        "schema.tests.SchemaTests.test_m2m_create_custom",
        "schema.tests.SchemaTests.test_m2m_create_inherited",
        "schema.tests.SchemaTests.test_m2m_create_through",
        "schema.tests.SchemaTests.test_m2m_create_through_custom",
        "schema.tests.SchemaTests.test_m2m_create_through_inherited",
        "introspection.tests.IntrospectionTests.test_get_table_description_types",
        "introspection.tests.IntrospectionTests.test_smallautofield",
    },
    "SingleStore keeps no foreign keys (S2-FOREIGN-KEY), so inspectdb cannot see relations.": {
        "inspectdb.tests.InspectDBTestCase.test_same_relations",
    },
    "Every key is part of CREATE TABLE (SingleStore refuses most keys added later: "
    "S2-ALTER-ADD-UNIQUE, S2-ADD-PRIMARY-KEY), so the schema editor defers no index SQL.": {
        "indexes.tests.SchemaIndexesTests.test_quoted_index_name",
        "schema.tests.SchemaTests.test_rename_column_renames_deferred_sql_references",
        "schema.tests.SchemaTests.test_rename_table_renames_deferred_sql_references",
    },
    "JSONField 'contains' is expressible on SingleStore only for a dict of scalar values "
    "(S2-JSON-CONTAINS: JSON_EXTRACT_JSON per key); nested objects, arrays, primitives and "
    "'contained_by' raise NotSupportedError.": {
        "model_fields.test_jsonfield.TestQuerying.test_array_key_contains",
        "model_fields.test_jsonfield.TestQuerying.test_contained_by",
        "model_fields.test_jsonfield.TestQuerying.test_contains",
        "model_fields.test_jsonfield.TestQuerying.test_contains_contained_by_with_key_transform",
        "model_fields.test_jsonfield.TestQuerying.test_contains_primitives",
        "model_fields.test_jsonfield.TestQuerying.test_key_contains",
    },
    "SingleStore JSON key paths are separate arguments of JSON_EXTRACT_<type>, not a quoted "
    "'$.path' string (S2-JSON-PATH), so the escaped path text this test looks for never appears.": {
        "model_fields.test_jsonfield.TestQuerying.test_key_sql_injection_escape",
    },
    "SHA2(x, 224) ran on a real SingleStore and failed (S2-SHA224); the backend raises "
    "NotSupportedError for SHA224().": {
        "db_functions.text.test_sha224.SHA224Tests.test_basic",
        "db_functions.text.test_sha224.SHA224Tests.test_transform",
    },
    "CHAR(n) above 127 ran on a real SingleStore and failed (S2-CHAR-NON-ASCII); the backend "
    "raises NotSupportedError for Chr() of such a literal.": {
        "db_functions.text.test_chr.ChrTests.test_non_ascii",
    },
    "ORDER BY expr COLLATE name ran on a real SingleStore and failed (S2-ORDER-BY-COLLATE); the "
    "backend raises NotSupportedError for order_by(Collate(...)).": {
        "db_functions.comparison.test_collate.CollateTests.test_collate_order_by_cs",
        "db_functions.comparison.test_collate.CollateTests.test_language_collation_order_by",
    },
    "SingleStore's DATE/DATETIME range starts at year 1000 (S2-DATE-BEFORE-1000).": {
        "model_regress.tests.ModelTests.test_date_lookup",
        "serializers.test_json.JsonSerializerTestCase.test_pre_1000ad_date",
        "serializers.test_jsonl.JsonlSerializerTestCase.test_pre_1000ad_date",
        "serializers.test_xml.XmlSerializerTestCase.test_pre_1000ad_date",
        "serializers.test_yaml.YamlSerializerTestCase.test_pre_1000ad_date",
        "db_functions.datetime.test_extract_trunc.DateFunctionTests.test_trunc_func",
        "db_functions.datetime.test_extract_trunc.DateFunctionTests.test_trunc_week_before_1000",
        "db_functions.datetime.test_extract_trunc.DateFunctionWithTimeZoneTests.test_trunc_func",
        "db_functions.datetime.test_extract_trunc.DateFunctionWithTimeZoneTests."
        "test_trunc_week_before_1000",
    },
    "A subselect inside INSERT ... VALUES is refused (S2-SELECT-IN-VALUES); the backend raises "
    "NotSupportedError for a Subquery value in create().": {
        "expressions.tests.BasicExpressionsTests.test_object_create_with_f_expression_in_subquery",
    },
    "Failed on a real SingleStore in upstream's CI (listed there beside descending index "
    "columns); no refused statement is recorded, and the test asserts the order of an "
    "unordered queryset, which SingleStore does not keep (S2-NO-ROW-ORDER; the emulator's "
    "--shuffle-rows shows it).": {
        "generic_relations_regress.tests.GenericRelationTests.test_ticket_20378",
    },
}

#: Tests that exist from Django 6.0 on (skip entries must name tests the running Django has).
SINGLESTORE_TEST_SKIPS_6_0: dict[str, set[str]] = {
    _NO_SAVEPOINT_IN_TEST: {
        # Each subtest's save() fails inside atomic(); the next subtest finds the broken
        # transaction.
        "update_only_fields.tests.UpdateOnlyFieldsTests.test_update_fields_not_updated",
    },
}

#: Tests that exist from Django 6.1 on (skip entries must name tests the running Django has).
SINGLESTORE_TEST_SKIPS_6_1: dict[str, set[str]] = {
    _NO_SAVEPOINT_IN_TEST: {
        "proxy_models.tests.ProxyModelTests.test_proxy_included_in_ancestors",
        # The admin answers the first subtest's post with a 400 from inside its atomic().
        "admin_views.test_actions.AdminDetailActionsTest."
        "test_action_changeform_cannot_target_different_objects",
    },
    "SingleStore tables are created with their storage words (CREATE ROWSTORE REFERENCE TABLE; "
    "S2-STORAGE), which these assertions on the SQL text do not expect.": {
        "migrations.test_commands.MigrateTests.test_migrate_syncdb_installed_truncated_db_model",
    },
    "SingleStore keeps no foreign keys (S2-FOREIGN-KEY), so renaming a model collects no SQL "
    "for its self-referential foreign key column.": {
        "migrations.test_operations.OperationTests."
        "test_rename_model_with_self_referential_fk_collect_sql",
    },
}

_CORRELATED_SHARD = (
    "A correlated subquery SingleStore cannot turn into a join, not on shard keys "
    "(S2-CORRELATED-SHARD); the server decides, and its refusal reaches Django as "
    "NotSupportedError naming the construct."
)

#: Tests a planner rule stops only where the test's app is on sharded tables (the emulator does
#: not apply the planner rules to queries over reference tables only): skipped unless the app's
#: storage is REFERENCE.
SINGLESTORE_SHARDED_TEST_SKIPS: dict[str, set[str]] = {
    "A subselect referencing a select more than one level up, a correlated subselect in ORDER "
    "BY, or a subselect in HAVING (S2-SUBSELECT-OUTER-LEVELS); the backend raises "
    "NotSupportedError before sending.": {
        "aggregation_regress.tests.AggregationTests.test_having_subquery_select",
        "aggregation.test_filter_argument.FilteredAggregateTests."
        "test_filtered_aggregate_ref_multiple_subquery_annotation",
        "aggregation.tests.AggregateTestCase.test_aggregation_nested_subquery_outerref",
        "aggregation.tests.AggregateTestCase.test_aggregation_subquery_annotation_values_collision",
        "aggregation.tests.AggregateTestCase.test_filter_in_subquery_or_aggregation",
        "annotations.tests.NonAggregateAnnotationTestCase.test_annotation_filter_with_subquery",
        "expressions.tests.BasicExpressionsTests.test_annotation_with_deeply_nested_outerref",
        "expressions.tests.BasicExpressionsTests.test_annotation_with_nested_outerref",
        "expressions.tests.BasicExpressionsTests.test_annotations_within_subquery",
        "expressions.tests.BasicExpressionsTests.test_nested_subquery_outer_ref_2",
        "expressions.tests.BasicExpressionsTests.test_nested_subquery_outer_ref_with_autofield",
        "queries.test_qs_combinators.QuerySetSetOperationTests.test_union_in_subquery",
        "queries.tests.ExcludeTests.test_subquery_exclude_outerref",
        # Not in observed-refusals.md's sample; the same SQL shape as a sample test above
        # (nested OuterRef, UNION/INTERSECT branches in a subquery, ORDER BY a subquery):
        "expressions.tests.BasicExpressionsTests.test_nested_outerref_with_function",
        # ORDER BY the subquery is rewritten (a derived table), but its subquery is then refused
        # as S2-CORRELATED-SHARD (a correlated subselect with DISTINCT in the derived table):
        "ordering.tests.OrderingTests.test_orders_nulls_first_on_filtered_subquery",
        "queries.test_qs_combinators.QuerySetSetOperationTests.test_intersection_in_nested_subquery",
        "queries.test_qs_combinators.QuerySetSetOperationTests."
        "test_union_in_subquery_related_outerref",
    },
    "GROUP BY a Subquery/Exists annotation of a sharded table (S2-SUBSELECT-GROUP-BY); the "
    "backend raises NotSupportedError before sending.": {
        "aggregation.tests.AggregateTestCase.test_aggregation_exists_multivalued_outeref",
        "aggregation.tests.AggregateTestCase.test_aggregation_subquery_annotation_related_field",
        "aggregation.tests.AggregateTestCase.test_group_by_exists_annotation",
        "aggregation.tests.AggregateTestCase.test_group_by_subquery_annotation",
        "annotations.tests.NonAggregateAnnotationTestCase."
        "test_annotation_subquery_and_aggregate_values_chaining",
        # Same shape as the sample above (GROUP BY 1 naming a correlated subquery):
        "aggregation.tests.AggregateTestCase.test_aggregation_subquery_annotation_multivalued",
        # A raw extra(select=...) subquery: the server's refusal (1706) is what stops it.
        "aggregation_regress.tests.AggregationTests.test_annotate_with_extra",
    },
    "A subquery inside an aggregate (S2-SUBSELECT-IN-AGGREGATE); the backend raises "
    "NotSupportedError.": {
        "admin_filters.tests.ListFiltersTests.test_facets_filter",
        "admin_filters.tests.ListFiltersTests.test_facets_no_filter",
        "aggregation.test_filter_argument.FilteredAggregateTests.test_filtered_aggregate_on_exists",
        "expressions_case.tests.CaseExpressionTests.test_annotate_with_in_clause",
        # Same shape as the facets samples above:
        "admin_filters.tests.ListFiltersTests.test_facets_always",
    },
    _CORRELATED_SHARD: {
        "aggregation.tests.AggregateAnnotationPruningTests."
        "test_referenced_subquery_requires_wrapping",
        "db_functions.datetime.test_extract_trunc.DateFunctionTests."
        "test_trunc_subquery_with_parameters",
        "db_functions.datetime.test_extract_trunc.DateFunctionWithTimeZoneTests."
        "test_trunc_subquery_with_parameters",
        "expressions.tests.BasicExpressionsTests.test_annotation_with_outerref",
        "expressions.tests.BasicExpressionsTests.test_case_in_filter_if_boolean_output_field",
        # Same shapes as the samples above (a grouped scalar subquery correlated off the shard
        # key; the outer column used in the subquery's select list):
        "aggregation.tests.AggregateAnnotationPruningTests."
        "test_referenced_composed_subquery_requires_wrapping",
        "aggregation.test_filter_argument.FilteredAggregateTests."
        "test_filtered_aggregrate_ref_in_subquery_annotation",
        "expressions.tests.BasicExpressionsTests.test_subquery_filter_by_aggregate",
    },
    "A correlated subquery in GROUP BY of a columnstore query "
    "(S2-CORRELATED-PROJECT-COLUMNSTORE).": {
        "annotations.tests.NonAggregateAnnotationTestCase."
        "test_annotation_exists_aggregate_values_chaining",
    },
    "A correlated Subquery(...)[:1] on a transform of the outer column returned several rows "
    "on a leaf (S2-LEAF-SUBQUERY-ROWS).": {
        "annotations.tests.NonAggregateAnnotationTestCase."
        "test_annotation_subquery_outerref_transform",
    },
}


#: As SINGLESTORE_SHARDED_TEST_SKIPS, for tests that exist from Django 6.0 on.
SINGLESTORE_SHARDED_TEST_SKIPS_6_0: dict[str, set[str]] = {
    _CORRELATED_SHARD: {
        # Not in observed-refusals.md's sample: OuterRef in the ORDER BY of a StringAgg inside
        # the subquery's select list, the outer column used in the select list as in
        # test_annotation_with_outerref; refused by the emulator's shape rule (S2-CORRELATED-SHARD
        # is a boundary inferred from the sample, not verified on a real server for this test).
        "aggregation.tests.AggregateTestCase.test_string_agg_filter_outerref",
        # The sample's test_annotation_with_outerref with an output_field (new in 6.0): the
        # same SQL shape, OuterRef in the subquery's annotate()/values().
        "expressions.tests.BasicExpressionsTests.test_annotation_with_outerref_and_output_field",
    },
}

_OPERATION_UNIQUE_SHARDED = (
    "These migration operations declare unique_together or a named UniqueConstraint on columns "
    "without the shard key, on their throwaway app label's default (sharded) table, which "
    "cannot hold it (S2-SHARD-UNIQUE; DJANGO_SINGLESTORE_NOT_ENFORCED_UNIQUE_<APP> covers "
    "unique=True fields only)."
)

#: Tests whose tables are created under throwaway app labels (Django's migration-operation
#: tests: ``test_<operation>``), so their storage is the alias's default ("*", else SingleStore's
#: sharded columnstore) whatever the test's own app is: skipped unless that default is REFERENCE.
SINGLESTORE_DEFAULT_STORAGE_TEST_SKIPS: dict[str, set[str]] = {
    _OPERATION_UNIQUE_SHARDED: {
        "migrations.test_operations.OperationTests.test_alter_constraint",
        "migrations.test_operations.OperationTests."
        "test_alter_field_reloads_state_on_fk_with_to_field_target_changes",
        "migrations.test_operations.OperationTests."
        "test_alter_index_together_remove_with_unique_together",
        "migrations.test_operations.OperationTests.test_alter_unique_together",
        "migrations.test_operations.OperationTests.test_create_model_with_unique_after",
        "migrations.test_operations.OperationTests.test_remove_unique_together_on_unique_field",
        "migrations.test_operations.OperationTests.test_rename_field_unique_together",
        "migrations.test_operations.OperationTests."
        "test_rename_index_unnamed_index_with_unique_index",
    },
    "These migration operations make a nullable column NOT NULL on their throwaway app label's "
    "default (columnstore) table, which refuses it (S2-ALTER-NOT-NULL).": {
        "migrations.test_operations.OperationTests."
        "test_alter_field_change_blank_nullable_database_default_to_not_null",
        "migrations.test_operations.OperationTests."
        "test_alter_field_change_nullable_to_database_default_not_null",
        "migrations.test_operations.OperationTests."
        "test_alter_field_change_nullable_to_decimal_database_default_not_null",
    },
    "This migration operation changes a column's type on its throwaway app label's default "
    "(columnstore) table, which refuses it (S2-ALTER-TYPE).": {
        "migrations.test_operations.OperationTests.test_alter_fk_non_fk",
    },
}
#: As SINGLESTORE_DEFAULT_STORAGE_TEST_SKIPS, for tests that exist from Django 6.1 on.
SINGLESTORE_DEFAULT_STORAGE_TEST_SKIPS_6_1: dict[str, set[str]] = {
    _OPERATION_UNIQUE_SHARDED: {
        "migrations.test_operations.OperationTests."
        "test_alter_index_together_deferred_overlapping_columns",
        "migrations.test_operations.OperationTests.test_alter_unique_together_deferred",
        "migrations.test_operations.OperationTests."
        "test_alter_unique_together_deferred_overlapping_columns",
    },
}

#: Tests that expect a unique=True key to be enforced: skipped where the app's unique=True keys
#: are UNENFORCED (``DJANGO_SINGLESTORE_NOT_ENFORCED_UNIQUE_<APP>`` or OPTIONS
#: ``not_enforced_unique``, as the deployment layout sets for its sharded apps).
SINGLESTORE_UNENFORCED_UNIQUE_TEST_SKIPS: dict[str, set[str]] = {
    "The app's unique=True keys are UNENFORCED, as a sharded table cannot enforce a unique key "
    "that lacks the shard key (S2-SHARD-UNIQUE), so the IntegrityError these tests expect from "
    "a duplicate is never raised.": {
        "model_fields.test_filefield.FileFieldTests.test_unique_when_same_filename",
        "one_to_one.tests.OneToOneTests.test_multiple_o2o",
        "queries.test_bulk_update.BulkUpdateTests.test_database_routing_batch_atomicity",
    },
}

#: Tests Django's MySQL backend skips (its ``django_test_skips``, under reasons naming MySQL or
#: MariaDB) that this backend runs, with why they work here. Each ran under this backend through
#: the emulator, reference and deployment layouts, on Django 5.2, 6.0 and 6.1 (2026-12-07).
#: "Upstream" is singlestore-labs/django-singlestore, whose features.py does not inherit MySQL's
#: skips and neither skips these nor expects them to fail: its CI ran them on a real SingleStore
#: 8.9 (with its own SQL, which for these tests has the same shape as ours).
IMPLEMENTED_HERE: dict[str, str] = {
    "expressions.tests.FTimeDeltaTests.test_durationfield_multiply_divide": (
        "DurationField times or divided by a number is computed on the stored microseconds "
        "(compiler.py), never as INTERVAL arithmetic (S2-INTERVAL-ARITHMETIC)."
    ),
    **dict.fromkeys(
        (
            "db_functions.comparison.test_greatest.GreatestTests.test_coalesce_workaround",
            "db_functions.comparison.test_least.LeastTests.test_coalesce_workaround",
        ),
        "GREATEST/LEAST of COALESCE(datetime, parameter) comes back as text, and "
        "DatabaseOperations.get_db_converters parses a datetime computed as text back into a "
        "datetime (Django ticket #30224); upstream's CI ran it.",
    ),
    **dict.fromkeys(
        (
            "update.tests.AdvancedTests.test_update_ordered_by_inline_m2m_annotation",
            "update.tests.AdvancedTests.test_update_ordered_by_m2m_annotation",
            "update.tests.AdvancedTests.test_update_ordered_by_m2m_annotation_desc",
        ),
        "SQLUpdateCompiler sends a plain UPDATE (MySQL's UPDATE ... ORDER BY is not in "
        "SingleStore's grammar), so the ordering by a related field that MySQL cannot put in "
        "an UPDATE is never sent; upstream's CI ran them.",
    ),
    "queries.test_qs_combinators.QuerySetSetOperationTests.test_union_nested": (
        "MySQL < 8.0.31 refuses a parenthesised UNION on the right of another, and SingleStore "
        "reports 5.7.32, but upstream's CI ran this test on SingleStore 8.9 (Django 6.1's "
        "MySQL no longer skips it)."
    ),
    "migrations.test_operations.OperationTests."
    "test_invalid_generated_field_changes_on_rename_stored": (
        "Renaming a column a PERSISTED computed column reads is accepted through the emulator "
        "(MariaDB allows it); MySQL refuses it. Not verified on a real SingleStore: upstream "
        "never ran it (supports_stored_generated_columns is False there). If SingleStore "
        "refuses the rename, this test fails rather than being silently skipped."
    ),
}

#: Tests Django's MySQL backend skips that skip themselves here anyway, by a feature flag this
#: backend sets for a SingleStore reason or by the test's own vendor check, so they need no entry
#: in django_test_skips.
SKIPPED_OTHERWISE: dict[str, str] = {
    "schema.tests.SchemaTests.test_func_index_json_key_transform": (
        "skipUnlessDBFeature('supports_expression_indexes'): False, SingleStore has no "
        "functional indexes."
    ),
    "migrations.test_operations.OperationTests."
    "test_invalid_generated_field_changes_on_rename_virtual": (
        "skipUnlessDBFeature('supports_virtual_generated_columns'): False, SingleStore's "
        "computed columns are all PERSISTED."
    ),
    "queries.test_explain.ExplainTests.test_mysql_analyze": (
        "runs only where connection.vendor == 'mysql' (this backend's is 'singlestore'); "
        "supports_explain_analyze is False too (SingleStore profiles with PROFILE, not "
        "EXPLAIN ANALYZE). Django 6.1's MySQL no longer skips it."
    ),
}

#: The reason a MySQL skip that is neither above nor re-keyed under a SingleStore rule keeps
#: (a Django release added it): tests/backend/test_features.py fails until it is decided.
UNDECIDED_MYSQL_SKIP = "Django's MySQL backend skips it; not yet checked on SingleStore: {}"


class DatabaseFeatures(MySQLDatabaseFeatures):
    """MySQL's features, changed only where SingleStore differs; a flag MySQL already sets to
    the same plain value on every supported Django is inherited, not restated. Flags MySQL
    computes from the server's version or sql_mode are pinned here, since SingleStore reports
    MySQL 5.7.32 and its own sql_mode."""

    # singlestoredb's fetchmany() returns a list (MySQLdb returns a tuple).
    empty_fetchmany_value: list = []
    # SingleStore 7.3 made columnstore the default table type this backend is designed around.
    minimum_database_version = (7, 3)

    # Foreign keys are never enforced (older versions refuse the syntax: rule S2-FOREIGN-KEY);
    # a ForeignKey's db_index=True still creates a plain KEY (indexes_foreign_keys, inherited).
    supports_foreign_keys = False
    can_introspect_foreign_keys = False
    can_create_inline_fk = False
    supports_forward_references = True
    # Django 6.1's database-level on_delete (DB_CASCADE, DB_SET_NULL; DB_SET_DEFAULT is MySQL's
    # False already) needs a foreign key to act on: with these False, Django's system check
    # reports fields.E324 instead of child rows silently pointing nowhere. Django < 6.1 never
    # reads them.
    supports_on_delete_db_cascade = False
    supports_on_delete_db_null = False

    # No SAVEPOINT / ROLLBACK TO / RELEASE (rule S2-SAVEPOINT): a failing nested atomic block
    # marks the whole transaction for rollback (docs/backend.md, "Transactions").
    uses_savepoints = False

    # No CHECK constraints in SingleStore's CREATE TABLE grammar.
    supports_column_check_constraints = False
    supports_table_check_constraints = False
    can_introspect_check_constraints = False

    # Only plain column keys: no functional or ordered indexes, no expression defaults (MySQL
    # already has no partial, covering, deferrable or NULLS DISTINCT ones).
    supports_expression_indexes = False
    supports_index_column_ordering = False
    supports_expression_defaults = False

    # The protocol says MySQL 5.7.32: no INSERT ... RETURNING, no self-selecting UPDATE.
    can_return_columns_from_insert = False
    can_return_rows_from_bulk_insert = False
    update_can_self_select = False

    # Row locks exist, but not NOWAIT / SKIP LOCKED / OF.
    has_select_for_update_nowait = False
    has_select_for_update_skip_locked = False
    has_select_for_update_of = False

    # SingleStore has no UUID type; UUIDs are char(32) as on MySQL.
    has_native_uuid_field = False
    # Zero is an ordinary AUTO_INCREMENT request, never a stored value.
    allows_auto_pk_0 = False
    # ``ALTER TABLE ... AUTO_INCREMENT = n`` is refused on sharded tables (S2-ALTER-AUTOINC-VALUE).
    supports_sequence_reset = False
    # No CREATE DATABASE ... from a dump in this backend (mysqldump does not know shard keys).
    can_clone_databases = False
    # Persisted computed columns (``col AS (expr) PERSISTED type``); there are no virtual ones.
    supports_virtual_generated_columns = False
    # A negative JSON array index is refused before sending (``django_singlestore.json``), as
    # Django 6.0+ expects where supports_json_negative_indexing is False (MySQL's value).
    # JSONField ``contains`` (inherited True) covers a dict of scalar values; JSONObject is
    # JSON_BUILD_OBJECT (both in ``django_singlestore.json``).
    supports_default_in_lead_lag = True
    supports_explain_analyze = False
    supported_explain_formats = {"JSON", "TEXT"}
    # Django 5.2's MySQL computes these from the version SingleStore reports (5.7.32, before
    # INTERSECT/EXCEPT came to MySQL); later releases set True.
    supports_select_intersection = True
    supports_select_difference = True
    allows_group_by_selected_pks = True
    is_sql_auto_is_null_enabled = False
    ignores_table_name_case = False
    can_introspect_json_field = True

    test_collations = {
        "ci": "utf8mb4_general_ci",
        "cs": "utf8mb4_bin",
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

    @cached_property
    def django_test_skips(self) -> dict[str, set[str]]:
        """Django's own suite (``make django-suite``): the tests a SingleStore rule stops, keyed
        by that rule. MySQL's own skips (reasons naming MySQL) are not inherited: each is run
        here (``IMPLEMENTED_HERE``) or skipped by the test itself (``SKIPPED_OTHERWISE``); one
        a SingleStore rule stopped would be re-keyed under that rule in
        ``SINGLESTORE_TEST_SKIPS`` (none is, on Django 5.2 to 6.1)."""
        skips: dict[str, set[str]] = {}
        decided = IMPLEMENTED_HERE.keys() | SKIPPED_OTHERWISE.keys()
        for reason, tests in super().django_test_skips.items():
            undecided = set(tests) - decided
            if undecided:
                skips[UNDECIDED_MYSQL_SKIP.format(reason)] = undecided
        for reason, tests in SINGLESTORE_TEST_SKIPS.items():
            skips.setdefault(reason, set()).update(tests)
        for reason, tests in (SINGLESTORE_TEST_SKIPS_6_0 if DJANGO_6_0 else {}).items():
            skips.setdefault(reason, set()).update(tests)
        for reason, tests in (SINGLESTORE_TEST_SKIPS_6_1 if DJANGO_6_1 else {}).items():
            skips.setdefault(reason, set()).update(tests)
        options = self.connection.s2_options
        sharded_skips = {r: set(t) for r, t in SINGLESTORE_SHARDED_TEST_SKIPS.items()}
        for reason, tests in (SINGLESTORE_SHARDED_TEST_SKIPS_6_0 if DJANGO_6_0 else {}).items():
            sharded_skips.setdefault(reason, set()).update(tests)
        for reason, tests in sharded_skips.items():
            sharded = {
                test
                for test in tests
                if not (
                    options.storage_for_app(test.split(".")[0]) or Storage.COLUMNSTORE
                ).is_reference
            }
            if sharded:
                skips.setdefault(reason, set()).update(sharded)
        default = options.table_storage_type.get("*") or Storage.COLUMNSTORE
        if not default.is_reference:
            for reason, tests in SINGLESTORE_DEFAULT_STORAGE_TEST_SKIPS.items():
                skips.setdefault(reason, set()).update(tests)
            for reason, tests in (
                SINGLESTORE_DEFAULT_STORAGE_TEST_SKIPS_6_1 if DJANGO_6_1 else {}
            ).items():
                skips.setdefault(reason, set()).update(tests)
        for reason, tests in SINGLESTORE_UNENFORCED_UNIQUE_TEST_SKIPS.items():
            unenforced = {t for t in tests if options.unique_unenforced_for_app(t.split(".")[0])}
            if unenforced:
                skips.setdefault(reason, set()).update(unenforced)
        return skips
