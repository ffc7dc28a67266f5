"""Router test wiring: the S2ROUTER configuration the router tests start from."""

from typing import Any

ROUTERS = ["s2router.SingleStoreRouter"]


def router_settings(**overrides: Any) -> dict[str, Any]:
    """The test apps placed the way a real project would place them, plus ``overrides``."""
    return {
        "SINGLESTORE": "s2",
        "CONTRIB_DATABASE": "default",
        "ANALYTICS": ["routeranalytics"],
        "REFERENCE": ["routerapp.Country"],
        "MIGRATING": {"routerapp.Order": {"source": "default", "phase": "legacy"}},
        "PHASE_CACHE_SECONDS": 60,
        **overrides,
    }
