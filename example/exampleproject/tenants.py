"""Database-per-tenant analytics (used when ``EXAMPLE_TENANTS`` is set, e.g. by the drills).

A django-db-multitenant mapper: the tenant comes from the request's host name
(``acme.shop.example`` → ``acme``) and owns the SingleStore database ``<s2 NAME>_<tenant>``.
"""

from __future__ import annotations

from typing import Any

from db_multitenant.mapper import TenantMapper
from django.conf import settings


class HostMapper(TenantMapper):
    """``acme.shop.example`` → tenant ``acme`` → database ``s2kit_demo_s2_acme``."""

    def get_tenant_name(self, request: Any) -> str | None:
        name = request.get_host().split(".")[0]
        return name if name in settings.EXAMPLE_TENANTS else None

    def get_db_name(self, request: Any, tenant_name: str) -> str:
        return f"{settings.DATABASES['s2']['NAME']}_{tenant_name}"

    def get_cache_prefix(self, request: Any, tenant_name: str, db_name: str) -> str:
        return f"tenant-{tenant_name}"

    def get_tenant_names(self) -> list[str]:
        return list(settings.EXAMPLE_TENANTS)
