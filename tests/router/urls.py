"""Views that report what the current tenant can see, for the isolation tests."""

import asyncio
import time

from django.db import connections, router
from django.http import JsonResponse, StreamingHttpResponse
from django.urls import path

from s2router import current_tenant
from tests.router.routerapp.models import TenantNote


def _seen() -> dict:
    with connections[router.db_for_read(TenantNote)].cursor() as cursor:
        cursor.execute("SELECT DATABASE(), CONNECTION_ID()")
        database, connection_id = cursor.fetchone()
    tenant = current_tenant()
    return {
        "tenant": tenant.name if tenant else None,
        "rows": sorted(TenantNote.objects.values_list("tenant", flat=True)),
        "database": database,
        "connection": connection_id,
    }


def sync_view(request):
    first = _seen()
    time.sleep(0.002)  # let other requests interleave on other threads
    second = _seen()
    return JsonResponse({"first": first, "second": second})


async def async_view(request):
    rows = sorted([t async for t in TenantNote.objects.values_list("tenant", flat=True)])
    await asyncio.sleep(0.002)
    again = sorted([t async for t in TenantNote.objects.values_list("tenant", flat=True)])
    tenant = current_tenant()
    return JsonResponse({"tenant": tenant.name if tenant else None, "rows": rows, "again": again})


def streaming_view(request):
    def chunks():
        for _ in range(3):
            yield ",".join(TenantNote.objects.values_list("tenant", flat=True)) + "\n"

    return StreamingHttpResponse(chunks(), content_type="text/plain")


urlpatterns = [
    path("sync/", sync_view),
    path("async/", async_view),
    path("stream/", streaming_view),
]
