"""System checks: every misconfiguration, every relation Django cannot follow across databases."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.checks import Error
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import models
from django.test import override_settings
from django.test.utils import isolate_apps

from s2router.checks import check_settings, relation_messages
from tests.router.configs import ROUTERS, router_settings

MINE = ["routerapp", "routeranalytics", "auth", "contenttypes", "sessions", "admin", "sites"]


def ids(**overrides) -> list[str]:
    with override_settings(DATABASE_ROUTERS=ROUTERS, S2ROUTER=router_settings(**overrides)):
        return sorted(m.id for m in check_settings())


def test_the_test_configuration_is_clean(s2router_settings):
    assert check_settings() == []
    models_ = [m for label in MINE for m in apps.get_app_config(label).get_models()]
    assert relation_messages(models_) == []


def test_clean_with_contrib_on_singlestore(s2router_settings):
    s2router_settings(CONTRIB_DATABASE="s2")
    assert check_settings() == []


def test_not_configured_means_no_messages(settings):
    assert not hasattr(settings, "S2ROUTER")
    assert check_settings() == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"SINGLESTORE": "nowhere"},
        {"CONTRIB_DATABASE": "nowhere"},
        {"PHASE_DATABASE": "nowhere"},
        {"MIGRATING": {"routerapp.Order": {"source": "nowhere"}}},
        {"REFERENCE": {"routerapp.Country": {"source": "nowhere"}}},
    ],
)
def test_e001_unknown_alias(overrides):
    assert "s2router.E001" in ids(**overrides)


@pytest.mark.parametrize(
    "overrides",
    [
        {"ANALYTICS": ["nosuchapp"]},
        {"ANALYTICS": ["routeranalytics.Nope"]},
        {"REFERENCE": ["routerapp.Nope"]},
        {"MIGRATING": {"nosuchapp.Order": {"source": "default"}}},
        {"CONTRIB_APPS": ["nosuchapp"]},
    ],
)
def test_e002_unknown_app_or_model(overrides):
    assert ids(**overrides) == ["s2router.E002"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"ANALYTICS": ["routeranalytics", "routerapp.Country"]},  # Country is also REFERENCE
        {"MIGRATING": {"routeranalytics.Event": {"source": "default"}}},  # its app is ANALYTICS
    ],
)
def test_e003_model_in_two_lists(overrides):
    assert ids(**overrides) == ["s2router.E003"]


@pytest.mark.parametrize("label", ["auth.User", "sessions", "contenttypes.ContentType", "sites"])
def test_e004_contrib_split(label):
    assert ids(ANALYTICS=["routeranalytics", label]) == ["s2router.E004"]


def test_e005_source_is_singlestore():
    assert ids(MIGRATING={"routerapp.Order": {"source": "s2"}}) == ["s2router.E005"]
    assert ids(REFERENCE={"routerapp.Country": {"source": "s2"}}) == ["s2router.E005"]


@pytest.mark.parametrize("entry", [{"source": "default", "phase": "halfway"}, {"source": 5}])
def test_e006_bad_migrating_entry(entry):
    assert ids(MIGRATING={"routerapp.Order": entry}) == ["s2router.E006"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"ANALYTIC": ["routeranalytics"]},
        {"ANALYTICS": "routeranalytics"},
        {"MIGRATING": ["routerapp.Order"]},
        {"MIGRATING": {"routerapp.Order": {"source": "default", "phse": "legacy"}}},
        {"PHASE_CACHE_SECONDS": -1},
        {"SHADOW_SAMPLE_RATE": 2},
        {"TENANCY": ["s2"]},
        {"REFERENCE": {"routerapp.Country": {"sorce": "default"}}},
    ],
)
def test_e007_malformed_settings(overrides):
    assert "s2router.E007" in ids(**overrides)


def test_e007_settings_not_a_dict():
    with override_settings(DATABASE_ROUTERS=ROUTERS, S2ROUTER="s2"):
        assert [m.id for m in check_settings()] == ["s2router.E007"]


def test_e011_tenancy_without_a_usable_mapper():
    with override_settings(MULTITENANT_MAPPER_CLASS=None):
        assert ids(TENANCY={"DATABASES": ["mysql"]}) == ["s2router.E011"]
    with override_settings(MULTITENANT_MAPPER_CLASS="django.contrib.auth.models.User"):
        assert ids(TENANCY={"DATABASES": ["mysql"]}) == ["s2router.E011"]
    with override_settings(MULTITENANT_MAPPER_CLASS="tests.router.mapper.HeaderMapper"):
        assert ids(TENANCY={"DATABASES": ["mysql"], "TENANTS": "no.such.callable"}) == [
            "s2router.E011"
        ]


def test_e012_tenancy_on_postgresql():
    with override_settings(MULTITENANT_MAPPER_CLASS="tests.router.mapper.HeaderMapper"):
        assert ids(TENANCY={"DATABASES": ["default"]}) == ["s2router.E012"]
        assert ids(TENANCY={"DATABASES": ["mysql"]}) == []


def test_w002_router_not_installed():
    with override_settings(DATABASE_ROUTERS=[], S2ROUTER=router_settings()):
        assert [m.id for m in check_settings()] == ["s2router.W002"]


def test_errors_carry_hints_and_block_manage_py_check():
    with override_settings(DATABASE_ROUTERS=ROUTERS, S2ROUTER=router_settings(SINGLESTORE="s3")):
        messages = check_settings()
        assert all(isinstance(m, Error) and m.hint for m in messages)
        with pytest.raises(SystemCheckError, match=r"s2router\.E001"):
            call_command("check")


@pytest.mark.django_db(databases=["default"])
def test_the_strict_accessor_refuses_a_phase_change_naming_the_check():
    """Routing goes on with what parsed; changing state does not: set_phase (and the commands)
    read conf.checked_config, which names the check id and its hint."""
    from django.core.exceptions import ImproperlyConfigured

    from s2router import conf, phases
    from tests.router.routerapp.models import Order

    bad = router_settings(
        MIGRATING={"routerapp.Order": {"source": "default", "phse": "dual_write"}}
    )
    with override_settings(DATABASE_ROUTERS=ROUTERS, S2ROUTER=bad):
        assert phases.write_aliases(Order) == ("default", None)  # still routed (legacy)
        with pytest.raises(ImproperlyConfigured) as raised:
            phases.set_phase("routerapp.Order", "dual_write")
        message = str(raised.value)
        assert "unknown key 'phse'" in message and "HINT: Known keys: phase," in message
        assert message.endswith("(s2router.E007)")
        assert [p.id for p in conf.get_config().problems] == ["s2router.E007"]
    with override_settings(DATABASE_ROUTERS=ROUTERS, S2ROUTER=router_settings()):
        assert conf.checked_config().problems == []


def test_placements_are_built_from_keywords_with_self_explaining_fields(s2router_settings):
    from s2router import conf
    from tests.router.routerapp.models import Country

    placement = conf.get_config().placement(Country)  # REFERENCE with a source: mirrored
    assert (placement.read_alias, placement.write_alias, placement.mirror_alias) == (
        "default",
        "default",
        "s2",
    )
    assert placement.read_alias_by_phase is None and placement.write_aliases_by_phase is None
    with pytest.raises(TypeError):
        conf.Placement("x.y", conf.Kind.ANALYTICS, frozenset({"s2"}))  # keywords only


# --- relations ------------------------------------------------------------------------------


def relation_ids(model) -> list[str]:
    return sorted(m.id for m in relation_messages([model]))


class TestRelations:
    @pytest.fixture(autouse=True)
    def _isolated(self, s2router_settings):
        """Models defined in these tests go to a throw-away app registry."""
        with isolate_apps("tests.router.routeranalytics", "tests.router.routerapp"):
            yield

    def test_e008_cascade_from_singlestore_to_contrib(self):
        class Hit(models.Model):  # noqa: DJ008
            user = models.ForeignKey(User, models.CASCADE, db_constraint=False)

            class Meta:
                app_label = "routeranalytics"

        [message] = relation_messages([Hit])
        assert message.id == "s2router.E008"
        assert "on_delete=CASCADE" in message.msg and "DO_NOTHING" in message.hint

    @pytest.mark.parametrize("on_delete", [models.PROTECT, models.SET_NULL])
    def test_e008_any_on_delete_but_do_nothing(self, on_delete):
        class Hit(models.Model):  # noqa: DJ008
            user = models.ForeignKey(User, on_delete, null=True, db_constraint=False)

            class Meta:
                app_label = "routeranalytics"

        assert relation_ids(Hit) == ["s2router.E008"]

    def test_e009_constraint_on_postgresql_to_a_singlestore_table(self):
        from tests.router.routeranalytics.models import Event

        class Tag(models.Model):  # noqa: DJ008
            event = models.ForeignKey(Event, models.DO_NOTHING)

            class Meta:
                app_label = "routerapp"

        assert relation_ids(Tag) == ["s2router.E009"]

    def test_constraint_on_singlestore_side_is_not_e009(self):
        class Hit(models.Model):  # noqa: DJ008
            user = models.ForeignKey(User, models.DO_NOTHING)

            class Meta:
                app_label = "routeranalytics"

        assert relation_ids(Hit) == []

    def test_w003_migrating_model_pointing_at_an_unplaced_model(self):
        from tests.router.routerapp.models import Customer

        class Invoice(models.Model):  # noqa: DJ008
            customer = models.ForeignKey(Customer, models.CASCADE)

            class Meta:
                app_label = "routerapp"

        with override_settings(
            DATABASE_ROUTERS=ROUTERS,
            S2ROUTER=router_settings(MIGRATING={"routerapp.Invoice": {"source": "default"}}),
        ):
            # Deleting a Customer on default finds Invoice rows there (no E008) and s2 does not
            # enforce the constraint (no E009), but after cutover invoice.customer is looked up
            # on s2, where Customer has no table.
            assert relation_ids(Invoice) == ["s2router.W003"]

    def test_e010_cross_database_many_to_many(self):
        class Board(models.Model):  # noqa: DJ008
            groups = models.ManyToManyField(Group)

            class Meta:
                app_label = "routeranalytics"

        assert relation_ids(Board) == ["s2router.E010"]

    def test_w001_generic_foreign_key_on_singlestore(self):
        class Comment(models.Model):  # noqa: DJ008
            content_type = models.ForeignKey(ContentType, models.DO_NOTHING, db_constraint=False)
            object_id = models.BigIntegerField()
            target = GenericForeignKey("content_type", "object_id")

            class Meta:
                app_label = "routeranalytics"

        assert relation_ids(Comment) == ["s2router.W001"]

    def test_generic_foreign_key_with_contenttypes_alongside_is_fine(self, s2router_settings):
        s2router_settings(CONTRIB_DATABASE="s2")

        class Comment(models.Model):  # noqa: DJ008
            content_type = models.ForeignKey(ContentType, models.CASCADE)
            object_id = models.BigIntegerField()
            target = GenericForeignKey("content_type", "object_id")

            class Meta:
                app_label = "routeranalytics"

        assert relation_ids(Comment) == []


def test_storage_of_singlestore_reference_and_contrib_tables(s2router_settings):
    from s2router.checks import check_storage

    assert check_storage() == []  # Country declares TableStorage("REFERENCE")
    s2router_settings(CONTRIB_DATABASE="s2")
    assert check_storage() == []  # tests/settings.py gives contrib ROWSTORE REFERENCE on s2
    s2router_settings(REFERENCE=["routerapp.Country", "routerapp.Customer"])
    [message] = check_storage()
    assert (message.id, message.obj.__name__) == ("s2router.W004", "Customer")
    assert "TableStorage('REFERENCE')" in message.hint


def test_contrib_on_singlestore_without_reference_storage_is_an_error(
    s2router_settings, monkeypatch
):
    """Django's own models can only get reference storage from the alias's OPTIONS: E013 says
    so once per contrib app, with the setting to add; with the setting it is clean."""
    from django.db import connections

    from django_singlestore.options import SingleStoreOptions
    from s2router.checks import check_storage

    s2router_settings(CONTRIB_DATABASE="s2")
    plain = SingleStoreOptions.from_settings({}, "s2")
    monkeypatch.setattr(connections["s2"], "s2_options", plain)
    messages = check_storage()
    assert {m.id for m in messages} == {"s2router.E013"}
    assert sorted(m.msg.split("'")[1] for m in messages) == list(CONTRIB_LABELS)
    [auth] = [m for m in messages if "'auth'" in m.msg]
    assert "User (COLUMNSTORE)" in auth.msg
    assert "'table_storage_type': {'admin': 'ROWSTORE REFERENCE'" in auth.hint
    assert "'sites': 'ROWSTORE REFERENCE'}" in auth.hint
    fixed = SingleStoreOptions.from_settings(
        {"table_storage_type": dict.fromkeys(CONTRIB_LABELS, "ROWSTORE REFERENCE")}, "s2"
    )
    monkeypatch.setattr(connections["s2"], "s2_options", fixed)
    assert check_storage() == []
    s2router_settings()  # contrib back on default: nothing of contrib is on SingleStore
    monkeypatch.setattr(connections["s2"], "s2_options", plain)
    assert check_storage() == []


CONTRIB_LABELS = ("admin", "auth", "contenttypes", "sessions", "sites")


def test_shared_apps_labels_are_checked():
    assert ids(SHARED_APPS=["migration_kit", "nosuchapp"]) == ["s2router.E002"]
    assert ids(SHARED_APPS=["migration_kit", "routerapp"]) == ["s2router.E003"] * 2
