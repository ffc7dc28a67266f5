"""Each phase's read/write targets, the override table, transitions and guards."""

import pytest
from django.db import router

from s2router import phases
from s2router.models import ModelPhase
from s2router.phases import Phase
from tests.router.routeranalytics.models import PageView
from tests.router.routerapp.models import Country, Customer, Order

pytestmark = pytest.mark.django_db(databases=["default"])


@pytest.fixture(autouse=True)
def _guards(only_our_guards):
    pass


EXPECTED = {
    # phase: (read, (primary, mirror))
    Phase.LEGACY: ("default", ("default", None)),
    Phase.DUAL_WRITE: ("default", ("default", "s2")),
    Phase.SHADOW: ("default", ("default", "s2")),
    Phase.CUTOVER: ("s2", ("s2", "default")),
    Phase.DONE: ("s2", ("s2", None)),
}


@pytest.mark.parametrize("phase", list(Phase))
def test_targets_per_phase_from_settings(s2router_settings, phase):
    s2router_settings(MIGRATING={"routerapp.Order": {"source": "default", "phase": phase.value}})
    read, writes = EXPECTED[phase]
    assert phases.get_phase(Order) is phase
    assert phases.get_phase("routerapp.Order") is phase
    assert phases.get_phase(Order(number="1")) is phase
    assert router.db_for_read(Order) == read
    assert phases.read_alias(Order) == read
    assert router.db_for_write(Order) == writes[0]
    assert phases.write_aliases(Order) == writes
    assert phases.source_alias(Order) == "default"


def test_named_phase_sets_state_the_table():
    """The vocabulary the kit uses is the table above, read by column."""
    mirrored = {p for p, (_, (_, mirror)) in EXPECTED.items() if mirror is not None}
    on_s2 = {p for p, (read, (primary, _)) in EXPECTED.items() if read == primary == "s2"}
    assert mirrored == phases.MIRRORED
    assert on_s2 == phases.SINGLESTORE_PRIMARY
    assert set(Phase) - on_s2 == phases.SOURCE_PRIMARY
    assert {Phase.DUAL_WRITE, Phase.SHADOW} == phases.MIRRORED_TO_SINGLESTORE
    assert {Phase.CUTOVER} == phases.MIRRORED_TO_SOURCE
    # A step back is legal exactly where the other side is still kept in sync.
    backwards = {
        p
        for p in Phase
        if any(phases.ORDER.index(t) < phases.ORDER.index(p) for t in phases.legal_targets(p))
    }
    assert backwards == phases.MIRRORED


@pytest.mark.parametrize("phase", list(Phase))
def test_targets_per_phase_from_override_table(s2router_settings, phase):
    ModelPhase.objects.create(label="routerapp.order", phase=phase.value)
    phases._invalidate()
    read, writes = EXPECTED[phase]
    assert phases.get_phase(Order) is phase
    assert router.db_for_read(Order) == read
    assert phases.write_aliases(Order) == writes


def test_non_migrating_models(s2router_settings):
    assert phases.get_phase(PageView) is None
    assert phases.write_aliases(PageView) == ("s2", None)
    assert phases.write_aliases(Country) == ("default", "s2")  # reference: mirrored for good
    assert phases.source_alias(Country) == "default"
    assert phases.source_alias(PageView) is None
    assert phases.write_aliases(Customer) == ("default", None)  # unlisted: Django's choice
    assert phases.get_phase(Customer) is None


def test_walk_forward_through_every_phase(s2router_settings):
    seen = []
    for target in list(Phase)[1:]:
        result = phases.set_phase("routerapp.Order", target)
        assert result.changed and result.to_phase is target
        seen.append((result.from_phase, phases.get_phase(Order)))
    assert seen == list(zip(list(Phase)[:-1], list(Phase)[1:], strict=True))
    assert ModelPhase.objects.get(label="routerapp.order").previous_phase == "cutover"


def test_same_phase_is_a_no_op(s2router_settings):
    result = phases.set_phase("routerapp.Order", "legacy")
    assert not result.changed


@pytest.mark.parametrize(
    ("start", "target"),
    [("legacy", "cutover"), ("legacy", "done"), ("dual_write", "done"), ("done", "cutover")],
)
def test_illegal_transitions_refused_with_reason(s2router_settings, start, target):
    s2router_settings(MIGRATING={"routerapp.Order": {"phase": start}})
    with pytest.raises(phases.IllegalTransition) as info:
        phases.set_phase("routerapp.Order", target)
    assert "not a legal move" in info.value.reasons[0]
    assert phases.get_phase(Order) == start
    assert not ModelPhase.objects.filter(phase=target).exists()


@pytest.mark.parametrize(("start", "back"), [("dual_write", "legacy"), ("cutover", "shadow")])
def test_rollback_one_step(s2router_settings, start, back):
    s2router_settings(MIGRATING={"routerapp.Order": {"phase": start}})
    assert phases.set_phase("routerapp.Order", back).changed
    assert phases.get_phase(Order) == back


def test_force_overrides_order(s2router_settings):
    result = phases.set_phase("routerapp.Order", "cutover", force=True)
    assert result.forced and result.overridden
    assert phases.get_phase(Order) is Phase.CUTOVER


def test_guards_refuse_and_see_the_move(s2router_settings):
    calls = []

    def guard(label, from_phase, to_phase):
        calls.append((label, from_phase, to_phase))
        return ["outbox not empty"] if to_phase is Phase.SHADOW else []

    phases.register_transition_guard(guard)
    try:
        phases.set_phase("routerapp.Order", "dual_write")
        with pytest.raises(phases.IllegalTransition, match="outbox not empty"):
            phases.set_phase("routerapp.Order", "shadow")
    finally:
        phases.unregister_transition_guard(guard)
    assert calls == [
        ("routerapp.order", Phase.LEGACY, Phase.DUAL_WRITE),
        ("routerapp.order", Phase.DUAL_WRITE, Phase.SHADOW),
    ]
    assert phases.get_phase(Order) is Phase.DUAL_WRITE


def test_crashing_guard_refuses(s2router_settings):
    def guard(label, from_phase, to_phase):
        raise RuntimeError("verify table unreadable")

    phases.register_transition_guard(guard)
    try:
        with pytest.raises(phases.IllegalTransition, match="verify table unreadable"):
            phases.set_phase("routerapp.Order", "dual_write")
    finally:
        phases.unregister_transition_guard(guard)


def test_unknown_labels_and_phases(s2router_settings):
    with pytest.raises(phases.UnknownModel, match="not a migrating model"):
        phases.set_phase("routerapp.Customer", "dual_write")
    with pytest.raises(phases.UnknownModel, match="not a model label"):
        phases.set_phase("routerapp", "dual_write")
    with pytest.raises(phases.PhaseError, match="unknown phase"):
        phases.set_phase("routerapp.Order", "halfway")


def test_override_table_wins_and_clear_returns_to_settings(s2router_settings):
    phases.set_phase("routerapp.Order", "dual_write")
    assert phases.get_phase(Order) is Phase.DUAL_WRITE
    assert phases.clear_phase("routerapp.Order") is True
    assert phases.get_phase(Order) is Phase.LEGACY


def test_cache_is_brief_then_table_is_reread(s2router_settings, monkeypatch):
    s2router_settings(PHASE_CACHE_SECONDS=5)
    now = [1000.0]
    monkeypatch.setattr(phases.time, "monotonic", lambda: now[0])
    assert phases.get_phase(Order) is Phase.LEGACY
    # Another process changes the table: this process sees it only after the cache expires.
    ModelPhase.objects.create(label="routerapp.order", phase="dual_write")
    assert phases.get_phase(Order) is Phase.LEGACY
    now[0] += 5.1
    assert phases.get_phase(Order) is Phase.DUAL_WRITE


def test_phase_changed_signal_after_commit(s2router_settings, django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, transition, **kwargs):
        received.append((transition.label, transition.to_phase))

    phases.phase_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            phases.set_phase("routerapp.Order", "dual_write")
    finally:
        phases.phase_changed.disconnect(receiver)
    assert received == [("routerapp.order", Phase.DUAL_WRITE)]


def test_migrating_models_and_phases(s2router_settings):
    assert phases.migrating_models() == ["routerapp.order"]
    assert phases.phases() == {"routerapp.order": Phase.LEGACY}


def test_missing_phase_table_falls_back_to_settings_without_breaking_the_transaction(
    s2router_settings,
):
    from django.db import connection

    ModelPhase.objects.create(label="routerapp.order", phase="dual_write")
    with connection.cursor() as cursor:  # PostgreSQL DDL is transactional: undone after the test
        cursor.execute("ALTER TABLE s2router_modelphase RENAME TO s2router_modelphase_gone")
    phases._invalidate()
    assert phases.get_phase(Order) is Phase.LEGACY
    assert Customer.objects.create(name="still usable").pk  # the caller's transaction is intact
