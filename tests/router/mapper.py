"""A ``db_multitenant`` mapper for the tests: the tenant comes from the ``X-Tenant`` header.

Tenant databases are named after the alias's (test) database, so parallel test runs with
different ``TOX_PARALLEL_ENV`` suffixes never share tenant databases.
"""

from db_multitenant.mapper import TenantMapper
from django.db import connections


class HeaderMapper(TenantMapper):
    alias = "mysql"  # whose (test) database name prefixes the tenant databases

    def get_tenant_name(self, request):
        return request.headers.get("X-Tenant") or None

    def get_db_name(self, request, tenant_name):
        if tenant_name == "evil":
            return "x`; DROP DATABASE mysql; --"
        return f"{connections[self.alias].settings_dict['NAME']}_t_{tenant_name}"

    def get_cache_prefix(self, request, tenant_name, db_name):
        return f"tenant-{tenant_name}"


class S2HeaderMapper(HeaderMapper):
    alias = "s2"


def tenant_names() -> list[str]:
    """``TENANCY['TENANTS']`` given as a dotted path."""
    return ["globex", "acme"]
