"""``TenantMiddleware``: the request's tenant from ``MULTITENANT_MAPPER_CLASS``, for its duration.

Put it before any middleware that queries a tenant database (sessions, auth when contrib lives on
a tenancy alias). The mapper's ``get_tenant_name(request)`` may return None (no tenant: strict
mode then refuses tenant queries) or raise (e.g. ``Http404`` for an unknown host). The tenant is
available as ``request.tenant`` and stays active while a streaming response is produced.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from s2router import tenancy


class TenantMiddleware:
    """Sync and async capable; never leaves a tenant behind in the thread or task."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def _tenant_for(self, request: HttpRequest) -> tenancy.Tenant | None:
        mapper = tenancy.get_mapper()
        name = mapper.get_tenant_name(request)
        value = None if name is None else tenancy.resolve(name, request)
        request.tenant = value
        return value

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        value = self._tenant_for(request)
        token = tenancy.activate(value)
        try:
            response = self.get_response(request)
        finally:
            tenancy.deactivate(token)
        return self._bind_stream(response, value)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        value = self._tenant_for(request)
        token = tenancy.activate(value)
        try:
            response = await self.get_response(request)
        finally:
            tenancy.deactivate(token)
        return self._bind_stream(response, value)

    @staticmethod
    def _bind_stream(response: Any, value: tenancy.Tenant | None) -> Any:
        if getattr(response, "streaming", False):
            content = response.streaming_content
            if getattr(response, "is_async", False):
                response.streaming_content = tenancy.aiterate_as(value, content)
            else:
                response.streaming_content = tenancy.iterate_as(value, content)
        return response
