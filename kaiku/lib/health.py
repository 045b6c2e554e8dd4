"""GET /healthz: can this web process serve? For load balancers, uptime checks and alerts.

    200 {"status": "ok", "database": "ok",
         "queue": {"pending": 3, "running": 1, "oldest_pending_age_s": 0.8}}
    503 {"status": "unavailable", "database": "unreachable"}   (+ Retry-After)

No authentication, no session, no template, few queries: the count and age of the due jobs
in the database queue (django-tasks-db, read through its partial index on READY rows) plus
the answers still waiting in an outbox to be queued (kaiku.lib.tasks), which also proves
the database answers. `oldest_pending_age_s` growing means the workers do not
keep up (or none runs): alert on it. With a queue that is not the database (the immediate
backend of tests) `queue` says so and counts nothing.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError
from django.db.models import Count, Min, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django_tasks_db.backend import DatabaseBackend

from kaiku.lib.middleware import RETRY_AFTER_SECONDS
from kaiku.lib.tasks import outboxes

logger = logging.getLogger(__name__)


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    try:
        queue = queue_state()
    except DatabaseError as exc:
        logger.warning("health check: database unreachable: %s", exc)
        response = JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return JsonResponse({"status": "ok", "database": "ok", "queue": queue})


def queue_state() -> dict[str, object]:
    """Due and running jobs of the database queue; raises DatabaseError if unreachable."""
    backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
    if not isinstance(backend, DatabaseBackend):
        _ping()
        return {"backend": type(backend).__name__, "pending": None}
    from django_tasks_db.models import DBTaskResult, get_date_max

    now = timezone.now()
    due = Q(status="READY") & (Q(run_after=get_date_max()) | Q(run_after__lte=now))
    row = DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).aggregate(
        pending=Count("id", filter=due),
        running=Count("id", filter=Q(status="RUNNING")),
        oldest=Min("enqueued_at", filter=due),
    )
    pending, oldest = row["pending"], row["oldest"]
    for outbox in outboxes():
        waiting, since = outbox.backlog()
        pending += waiting
        oldest = min(filter(None, (oldest, since)), default=None)
    return {
        "pending": pending,
        "running": row["running"],
        "oldest_pending_age_s": round((now - oldest).total_seconds(), 1) if oldest else None,
    }


def _ping() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
