"""The ingestion ceiling: a minimal Django view that inserts one answer row.

POST /ceiling/<workspace>/<survey>/ with `score` and `nonce` → 201 {"id": N}. One ORM insert
into the real responses table (same indexes and constraints), autocommit, nothing else: no
rate limit, no lookup, no validation beyond int(), no job, no template.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from kaiku.responses.models import Response


@csrf_exempt
def insert(request: HttpRequest, workspace_id: int, survey_id: int) -> HttpResponse:
    response = Response(
        workspace_id=workspace_id,
        survey_id=survey_id,
        score=int(request.POST.get("score", "0")),
        scale_min=0,
        scale_max=10,
        channel="link",
        idempotency_key="form:" + request.POST.get("nonce", ""),
    )
    response.save()
    return JsonResponse({"id": response.pk}, status=201)


urlpatterns = [path("ceiling/<int:workspace_id>/<int:survey_id>/", insert)]
