"""Router fixtures: the router installed with ``configs.router_settings`` via override_settings."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from tests.router.configs import ROUTERS, router_settings


@pytest.fixture
def s2router_settings() -> Iterator[Any]:
    """Install the router with ``router_settings()``; call the fixture to change keys."""
    stack: list[override_settings] = []

    def apply(**overrides: Any) -> None:
        for active in reversed(stack):
            active.disable()
        stack.clear()
        active = override_settings(DATABASE_ROUTERS=ROUTERS, S2ROUTER=router_settings(**overrides))
        active.enable()
        stack.append(active)

    apply()
    yield apply
    for active in reversed(stack):
        active.disable()


@pytest.fixture
def only_our_guards(monkeypatch: pytest.MonkeyPatch) -> None:
    """Other apps (the migration kit) register transition guards at start-up; set them aside."""
    from s2router import phases

    monkeypatch.setattr(phases, "_guards", [])
