"""Tenant databases for the integrity tests, named after the tenancy alias's test database."""

from db_multitenant.mapper import TenantMapper
from django.conf import settings
from django.db import connections


class IntegrityMapper(TenantMapper):
    def get_tenant_name(self, request):
        return request.headers.get("X-Tenant") or None

    def get_db_name(self, request, tenant_name):
        alias = settings.S2ROUTER["TENANCY"]["DATABASES"][0]
        return f"{connections[alias].settings_dict['NAME']}_i_{tenant_name}"

    def get_cache_prefix(self, request, tenant_name, db_name):
        return f"integrity-{tenant_name}"
