"""Per-model migration phases: where a migrating model's reads and writes go, and changing them.

A model listed in ``S2ROUTER['MIGRATING']`` moves through ``legacy → dual_write → shadow →
cutover → done``. Its phase comes from the ``s2router.ModelPhase`` table on ``PHASE_DATABASE``
when a row exists (cached for ``PHASE_CACHE_SECONDS``, 1 s by default), else from settings.

========== ============ ===================== ===========================================
phase      reads        writes (primary, mirror) notes
========== ============ ===================== ===========================================
legacy     source       (source, None)
dual_write source       (source, s2)          the mirror is the migration kit's outbox
shadow     source       (source, s2)          plus sampled shadow reads on s2 (shadow.py)
cutover    s2           (s2, source)          source kept in sync for a rollback window
done       s2           (s2, None)
========== ============ ===================== ===========================================

API used by the migration kit and ``s2_status``:

- ``Phase`` (str enum) and the named sets ``SOURCE_PRIMARY``, ``SINGLESTORE_PRIMARY``,
  ``MIRRORED``, ``MIRRORED_TO_SINGLESTORE``, ``MIRRORED_TO_SOURCE``: the table's rules are
  written with them, and nothing else spells phases as strings;
- ``get_phase(model) -> Phase | None`` (None: the model is not migrating),
  ``source_alias(model)``, ``read_alias(model)``, ``write_aliases(model) -> (primary, mirror)``,
  ``migrating_models()``, ``phases() -> {label: Phase}``;
- ``set_phase(label, phase, *, force=False, note="") -> Transition`` raises ``UnknownModel`` or
  ``IllegalTransition`` (with ``.reasons``); ``clear_phase(label)`` drops the override row;
- ``register_transition_guard(fn)``: ``fn(label, from_phase, to_phase) -> list[str]`` of reasons
  to refuse (an exception inside a guard refuses too); ``force=True`` skips order and guards;
- signal ``phase_changed(sender=Transition, transition=...)`` after a committed change.

Legal moves are one step forward, or one step back from ``dual_write``, ``shadow`` and
``cutover`` (rollback); ``done`` is final because the source is no longer kept in sync.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import DatabaseError, models, router, transaction
from django.dispatch import Signal

from s2router import conf
from s2router.conf import Kind, Phase

logger = logging.getLogger("s2router.phases")

ORDER: tuple[Phase, ...] = tuple(Phase)

# The phase vocabulary: every rule about phases (routing, the kit's capture, locks, guards) is
# written with these sets, so the table above is stated once.

#: Reads and primary writes go to the source database.
SOURCE_PRIMARY = frozenset({Phase.LEGACY, Phase.DUAL_WRITE, Phase.SHADOW})
#: Reads and primary writes go to SingleStore.
SINGLESTORE_PRIMARY = frozenset({Phase.CUTOVER, Phase.DONE})
#: Writes are mirrored to the other side (the kit's outbox records them). Only from these can a
#: model step back, because the side it steps back to is still in sync.
MIRRORED = frozenset({Phase.DUAL_WRITE, Phase.SHADOW, Phase.CUTOVER})
#: The source is primary and SingleStore the mirror: capture triggers on the source, backfill
#: holds source row locks.
MIRRORED_TO_SINGLESTORE = SOURCE_PRIMARY & MIRRORED
#: SingleStore is primary and the source the mirror (the rollback window).
MIRRORED_TO_SOURCE = SINGLESTORE_PRIMARY & MIRRORED
Guard = Callable[[str, Phase, Phase], list[str]]
ModelRef = type[models.Model] | models.Model | str

phase_changed = Signal()


class PhaseError(Exception):
    """Base class of the errors ``set_phase`` raises."""


class UnknownModel(PhaseError):
    """The label is not in ``S2ROUTER['MIGRATING']``."""


class IllegalTransition(PhaseError):
    """The move is not allowed; ``reasons`` says why."""

    def __init__(self, label: str, from_phase: Phase, to_phase: Phase, reasons: list[str]):
        self.label, self.from_phase, self.to_phase, self.reasons = (
            label,
            from_phase,
            to_phase,
            reasons,
        )
        super().__init__(f"{label}: {from_phase} → {to_phase} refused: {'; '.join(reasons)}")


@dataclass(frozen=True)
class Transition:
    """The outcome of ``set_phase``."""

    label: str
    from_phase: Phase
    to_phase: Phase
    changed: bool
    forced: bool = False
    overridden: list[str] = field(default_factory=list)  # reasons ignored with force=True


_guards: list[Guard] = []


def register_transition_guard(fn: Guard) -> Guard:
    """Run ``fn(label, from_phase, to_phase)`` before every transition; usable as a decorator."""
    if fn not in _guards:
        _guards.append(fn)
    return fn


def unregister_transition_guard(fn: Guard) -> None:
    """Stop consulting ``fn``."""
    if fn in _guards:
        _guards.remove(fn)


def legal_targets(from_phase: Phase) -> list[Phase]:
    """Phases reachable from ``from_phase`` in one legal move."""
    i = ORDER.index(from_phase)
    targets = [ORDER[i + 1]] if i + 1 < len(ORDER) else []
    if from_phase in MIRRORED:
        targets.append(ORDER[i - 1])
    return targets


def transition_reasons(label: str, from_phase: Phase, to_phase: Phase) -> list[str]:
    """Every reason to refuse ``from_phase → to_phase`` (empty list: allowed)."""
    reasons = []
    if to_phase not in legal_targets(from_phase):
        allowed = ", ".join(legal_targets(from_phase)) or "nothing (done is final)"
        reasons.append(
            f"{from_phase} → {to_phase} is not a legal move; from {from_phase}: {allowed}"
        )
    for guard in list(_guards):
        try:
            reasons.extend(guard(label, from_phase, to_phase))
        except Exception as exc:
            logger.exception("transition guard %r failed", guard)
            reasons.append(f"guard {getattr(guard, '__qualname__', guard)!s} failed: {exc!r}")
    return reasons


# The override table, cached: (expires_at, {label: Phase}).
_cache: tuple[float, dict[str, Phase]] = (0.0, {})


def phase_routes(
    source: str, singlestore: str
) -> tuple[dict[Phase, str], dict[Phase, tuple[str, str | None]]]:
    """The table above for one migrating model: read alias and (primary, mirror) per phase."""
    reads: dict[Phase, str] = {}
    writes: dict[Phase, tuple[str, str | None]] = {}
    for phase in Phase:
        on_s2 = phase in SINGLESTORE_PRIMARY
        primary, other = (singlestore, source) if on_s2 else (source, singlestore)
        reads[phase] = primary
        writes[phase] = (primary, other if phase in MIRRORED else None)
    return reads, writes


def _invalidate() -> None:
    global _cache
    _cache = (0.0, {})


conf.on_reset(_invalidate)


def _overrides() -> dict[str, Phase]:
    """The override rows, reloaded at most every ``PHASE_CACHE_SECONDS``."""
    global _cache
    expires, values = _cache
    now = time.monotonic()
    if now < expires:
        return values
    from s2router.models import ModelPhase

    cfg = conf.get_config()
    loaded: dict[str, Phase] = {}
    try:
        # A savepoint inside a caller's transaction keeps a missing table from aborting it.
        with transaction.atomic(using=cfg.phase_database):
            rows = list(ModelPhase.objects.using(cfg.phase_database).values_list("label", "phase"))
    except DatabaseError as exc:
        logger.debug("phase table unreadable (%s); using settings", exc)
        rows = []
    for label, phase in rows:
        try:
            loaded[label] = Phase(phase)
        except ValueError:
            logger.warning("ignoring unknown phase %r for %s in the phase table", phase, label)
    _cache = (now + cfg.phase_cache_seconds, loaded)
    return loaded


def _placement(model: ModelRef) -> conf.Placement | None:
    """The placement the phase API reasons about (SHARED_APPS route themselves: None)."""
    cfg = conf.get_config()
    if isinstance(model, str):
        placement = cfg.placement_for_label(conf.normalize(model))
    else:
        placement = cfg.placement(model if isinstance(model, type) else type(model))
    return None if placement is None or placement.kind is Kind.SHARED else placement


def phase_of(placement: conf.Placement) -> Phase:
    """The current phase of a migrating placement (override table, else settings)."""
    expires, values = _cache
    if time.monotonic() >= expires:
        values = _overrides()
    return values.get(placement.label, placement.migrating.phase)  # type: ignore[union-attr]


def get_phase(model: ModelRef) -> Phase | None:
    """The current phase of ``model`` (class, instance or label), None when it is not migrating."""
    placement = _placement(model)
    if placement is None or placement.kind is not Kind.MIGRATING:
        return None
    return phase_of(placement)


def source_alias(model: ModelRef) -> str | None:
    """The alias a migrating or reference model is copied from, else None."""
    placement = _placement(model)
    return None if placement is None else placement.source


def read_alias_of(placement: conf.Placement) -> str | None:
    """Where reads of this placement go right now."""
    if placement.read_alias_by_phase is None:
        return placement.read_alias
    return placement.read_alias_by_phase[phase_of(placement)]


def write_aliases_of(placement: conf.Placement) -> tuple[str | None, str | None]:
    """(primary, mirror) for writes of this placement right now."""
    if placement.write_aliases_by_phase is None:
        return placement.write_alias, placement.mirror_alias
    return placement.write_aliases_by_phase[phase_of(placement)]


def read_alias(model: ModelRef) -> str | None:
    """Where the router sends reads of ``model`` now; for models it does not know, Django's."""
    placement = _placement(model)
    if placement is None:
        return None if isinstance(model, str) else router.db_for_read(_cls(model))
    return read_alias_of(placement)


def write_aliases(model: ModelRef) -> tuple[str, str | None]:
    """(primary, mirror | None): where writes of ``model`` commit, and where they are mirrored.

    Models the router does not know get ``(router.db_for_write(model), None)``.
    """
    placement = _placement(model)
    if placement is None:
        if isinstance(model, str):
            from django.apps import apps

            model = apps.get_model(model)
        return router.db_for_write(_cls(model)), None
    return write_aliases_of(placement)


def migrating_models() -> list[str]:
    """Labels (lowercase) of every model in ``MIGRATING``, app entries expanded."""
    from django.apps import apps

    cfg = conf.get_config()
    labels = []
    for model in apps.get_models():
        placement = cfg.placement(model)
        if placement is not None and placement.kind is Kind.MIGRATING:
            labels.append(placement.label)
    return sorted(labels)


def phases() -> dict[str, Phase]:
    """The current phase of every migrating model."""
    return {label: get_phase(label) for label in migrating_models()}  # type: ignore[misc]


def _cls(model: type[models.Model] | models.Model) -> type[models.Model]:
    return model if isinstance(model, type) else type(model)


def migrating_placement(label: str) -> conf.Placement:
    """The placement of a migrating model label, or ``UnknownModel`` saying why not."""
    from django.apps import apps

    norm = conf.normalize(label)
    if "." not in norm:
        raise UnknownModel(f"{label!r} is not a model label; write app_label.ModelName.")
    # Strict: a phase change under an S2ROUTER that did not parse is refused, naming the check.
    placement = conf.checked_config().placement_for_label(norm)
    if placement is None or placement.kind is not Kind.MIGRATING:
        raise UnknownModel(
            f"{label} is not a migrating model; add it to S2ROUTER['MIGRATING'] first "
            f"(migrating now: {', '.join(migrating_models()) or 'none'})."
        )
    try:
        apps.get_model(norm)
    except LookupError:
        raise UnknownModel(
            f"{label} is listed in MIGRATING but is not an installed model."
        ) from None
    return placement


def set_phase(label: str, phase: Phase | str, *, force: bool = False, note: str = "") -> Transition:
    """Move ``label`` to ``phase`` in the override table; refuses illegal moves with reasons.

    The change is visible in this process at once and in other processes within
    ``PHASE_CACHE_SECONDS``. Setting the current phase again is a no-op (``changed=False``).
    """
    from s2router.models import ModelPhase

    placement = migrating_placement(label)
    try:
        target = Phase(phase)
    except ValueError:
        raise PhaseError(f"unknown phase {phase!r}; use one of: {', '.join(Phase)}") from None
    db = conf.get_config().phase_database
    assert placement.migrating is not None
    with transaction.atomic(using=db):
        ModelPhase.objects.using(db).get_or_create(
            label=placement.label, defaults={"phase": placement.migrating.phase.value}
        )
        row = ModelPhase.objects.using(db).select_for_update().get(label=placement.label)
        current = Phase(row.phase)
        if current is target:
            return Transition(placement.label, current, target, changed=False)
        reasons = transition_reasons(placement.label, current, target)
        if reasons and not force:
            raise IllegalTransition(placement.label, current, target, reasons)
        if reasons:
            logger.warning("forced %s: %s → %s over: %s", placement.label, current, target, reasons)
        row.previous_phase, row.phase, row.note = current.value, target.value, note[:500]
        row.save(update_fields=["previous_phase", "phase", "note", "changed_at"])
        result = Transition(placement.label, current, target, True, force, reasons if force else [])
        # Re-read now (this transaction sees the row) and again once others can see it.
        _invalidate()
        transaction.on_commit(_invalidate, using=db)
        transaction.on_commit(
            lambda: phase_changed.send(sender=Transition, transition=result), using=db
        )
    return result


def clear_phase(label: str) -> bool:
    """Delete the override row so settings decide again; True when a row existed."""
    from s2router.models import ModelPhase

    placement = migrating_placement(label)
    db = conf.get_config().phase_database
    deleted, _ = ModelPhase.objects.using(db).filter(label=placement.label).delete()
    _invalidate()
    return bool(deleted)
