"""Routing decisions: contrib in both placements, analytics, reference, unlisted models."""

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.contrib.sites.models import Site
from django.db import router

from s2router.router import SingleStoreRouter
from tests.backend.testapp.models import Note
from tests.router.routeranalytics.models import Event, PageView
from tests.router.routerapp.models import Country, Customer, Order

CONTRIB_MODELS = [LogEntry, User, Group, Permission, ContentType, Session, Site]
# app label -> a model name in it, for contrib apps these tests do not install
CONTRIB_LABELS = {
    "flatpages": "flatpage",
    "redirects": "redirect",
    **{m._meta.app_label: m._meta.model_name for m in CONTRIB_MODELS},
}
ALIASES = ["default", "mysql", "s2"]


@pytest.mark.parametrize("contrib_db", ["default", "s2"])
@pytest.mark.parametrize("model", CONTRIB_MODELS, ids=lambda m: m._meta.label)
def test_contrib_models_follow_contrib_database(s2router_settings, contrib_db, model):
    s2router_settings(CONTRIB_DATABASE=contrib_db)
    assert router.db_for_read(model) == contrib_db
    assert router.db_for_write(model) == contrib_db
    for alias in ALIASES:
        assert router.allow_migrate_model(alias, model) is (alias == contrib_db)


@pytest.mark.parametrize("contrib_db", ["default", "s2"])
@pytest.mark.parametrize(("app_label", "model_name"), sorted(CONTRIB_LABELS.items()))
def test_contrib_apps_migrate_only_on_contrib_database(
    s2router_settings, contrib_db, app_label, model_name
):
    s2router_settings(CONTRIB_DATABASE=contrib_db)
    ours = SingleStoreRouter()
    for alias in ALIASES:
        assert ours.allow_migrate(alias, app_label, model_name) is (alias == contrib_db)
        # RunPython/RunSQL without a model name still follow the app.
        assert ours.allow_migrate(alias, app_label) is (alias == contrib_db)


def test_many_to_many_through_tables_follow_their_owner(s2router_settings):
    s2router_settings(CONTRIB_DATABASE="s2")
    through = User.groups.through
    assert router.db_for_write(through) == "s2"
    assert SingleStoreRouter().allow_migrate("default", "auth", "user_groups") is False


def test_extra_contrib_apps_move_with_contrib(s2router_settings):
    s2router_settings(CONTRIB_DATABASE="s2", CONTRIB_APPS=["routerapp"])
    assert router.db_for_read(Customer) == "s2"
    assert SingleStoreRouter().allow_migrate("default", "routerapp", "customer") is False


@pytest.mark.parametrize("model", [PageView, Event])
def test_analytic_models_live_only_on_singlestore(s2router_settings, model):
    assert router.db_for_read(model) == "s2"
    assert router.db_for_write(model) == "s2"
    assert [a for a in ALIASES if router.allow_migrate_model(a, model)] == ["s2"]


def test_analytics_by_model_label(s2router_settings):
    s2router_settings(ANALYTICS=["routeranalytics.PageView"])
    assert router.db_for_read(PageView) == "s2"
    assert SingleStoreRouter().db_for_read(Event) is None
    assert router.allow_migrate_model("s2", Event) is False


def test_reference_model_written_on_source_and_held_on_both(s2router_settings):
    assert router.db_for_write(Country) == "default"
    assert router.db_for_read(Country) == "default"
    assert [a for a in ALIASES if router.allow_migrate_model(a, Country)] == ["default", "s2"]


def test_reference_read_follows_a_related_instance_on_singlestore(s2router_settings):
    view = PageView(url="/")
    view._state.db = "s2"
    assert router.db_for_read(Country, instance=view) == "s2"
    view._state.db = "mysql"  # no Country table there: back to the source
    assert router.db_for_read(Country, instance=view) == "default"


def test_reference_with_no_source_lives_on_singlestore_only(s2router_settings):
    s2router_settings(REFERENCE={"routerapp.Country": {"source": None}})
    assert router.db_for_write(Country) == "s2"
    assert [a for a in ALIASES if router.allow_migrate_model(a, Country)] == ["s2"]


@pytest.mark.parametrize("model", [Customer, Note])
def test_unlisted_models_are_left_to_django(s2router_settings, model):
    ours = SingleStoreRouter()
    assert ours.db_for_read(model) is None
    assert ours.db_for_write(model) is None
    assert ours.allow_migrate("default", model._meta.app_label, model._meta.model_name) is None
    assert ours.allow_migrate("mysql", model._meta.app_label, model._meta.model_name) is None
    # ...but nothing unlisted is ever created on SingleStore.
    assert ours.allow_migrate("s2", model._meta.app_label, model._meta.model_name) is False
    assert router.db_for_read(model) == "default"


def test_unlisted_app_without_model_name(s2router_settings):
    ours = SingleStoreRouter()
    assert ours.allow_migrate("s2", "testapp") is False
    assert ours.allow_migrate("default", "testapp") is None
    assert ours.allow_migrate("s2", "routeranalytics") is True
    assert ours.allow_migrate("default", "routeranalytics") is False


def test_router_internal_table_on_phase_database(s2router_settings):
    s2router_settings(PHASE_DATABASE="mysql")
    ours = SingleStoreRouter()
    assert [a for a in ALIASES if ours.allow_migrate(a, "s2router", "modelphase")] == ["mysql"]


def test_migrating_model_has_tables_on_source_and_singlestore(s2router_settings):
    s2router_settings(MIGRATING={"routerapp.Order": {"source": "mysql"}})
    ours = SingleStoreRouter()
    assert [a for a in ALIASES if ours.allow_migrate(a, "routerapp", "order")] == ["mysql", "s2"]


def test_without_s2router_settings_nothing_is_routed(settings):
    settings.DATABASE_ROUTERS = ["s2router.SingleStoreRouter"]
    ours = SingleStoreRouter()
    assert ours.db_for_read(User) == "default"  # contrib defaults to 'default'
    assert ours.db_for_read(PageView) is None
    assert ours.allow_migrate("s2", "testapp", "note") is False


class TestAllowRelation:
    def test_same_database(self, s2router_settings):
        assert router.allow_relation(User(), Group()) is True
        assert router.allow_relation(PageView(), Event()) is True

    def test_shared_table(self, s2router_settings):
        # Country is on default and s2: both Order (default) and PageView (s2) may point at it.
        assert router.allow_relation(PageView(), Country()) is True
        assert router.allow_relation(Order(), Country()) is True

    def test_safe_cross_database_foreign_key(self, s2router_settings):
        # PageView.user is DO_NOTHING + db_constraint=False.
        assert router.allow_relation(PageView(), User()) is True
        assert router.allow_relation(User(), PageView()) is True

    def test_unrelated_cross_database_pair_refused(self, s2router_settings):
        assert router.allow_relation(Event(), User()) is False

    def test_unknown_pair_left_to_django(self, s2router_settings):
        assert SingleStoreRouter().allow_relation(Customer(), Note()) is None


def test_shared_apps_have_tables_wherever_migrations_happen(s2router_settings):
    from migration_kit.models import OutboxEntry

    s2router_settings(MIGRATING={"routerapp.Order": {"source": "mysql"}})
    ours = SingleStoreRouter()
    # The kit's outbox lives on the source and on SingleStore, its checkpoints on default.
    assert [a for a in ALIASES if ours.allow_migrate(a, "migration_kit", "outboxentry")] == [
        "default",
        "mysql",
        "s2",
    ]
    assert ours.db_for_write(OutboxEntry) is None  # the kit names its databases itself
    s2router_settings(MIGRATING={}, REFERENCE=[])
    assert [a for a in ALIASES if ours.allow_migrate(a, "migration_kit")] == ["default", "s2"]


def test_auto_created_through_tables_migrate_with_their_owner(s2router_settings):
    """Flushes and table lists ask allow_migrate with the through model itself."""
    from tests.integrity.integrityapp.models import Book

    s2router_settings(ANALYTICS=["integrityapp.Book", "integrityapp.Tag"])
    through = Book.tags.through
    assert router.db_for_write(through) == "s2"
    assert [a for a in ALIASES if router.allow_migrate_model(a, through)] == ["s2"]
