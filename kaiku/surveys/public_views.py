"""Unsubscribe and open tracking: what email recipients reach without logging in."""

from __future__ import annotations

import base64

from django.conf import settings
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from kaiku.lib.ratelimit import client_ip, hit
from kaiku.responses.pages import (
    Unavailable,
    negotiate_language,
    not_found,
    render_page,
    render_unavailable,
    too_many_requests,
)
from kaiku.surveys.models import Invitation, InvitationStatus
from kaiku.surveys.sending import unsubscribe_contact

# A transparent 1×1 GIF (43 bytes).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


# csrf_exempt: mail providers send the RFC 8058 one-click POST
# (`List-Unsubscribe=One-Click`) from their servers, with no cookie and no CSRF
# token. Nothing ambient authorises the request; the unguessable invitation
# token in the URL does, and all it can do is stop emails to its own contact.
@csrf_exempt
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a confirm button (scanners follow links; a GET never unsubscribes). POST: done."""
    if request.method not in ("GET", "HEAD", "POST"):
        response = HttpResponse(status=405)
        response["Allow"] = "GET, HEAD, POST"
        return response
    try:
        wait = hit("unsubscribe-ip", client_ip(request), settings.RATE_LIMIT_IP_PER_MINUTE)
        if wait:
            raise too_many_requests(wait)
        invitation = (
            Invitation.objects.select_related("survey__workspace", "contact")
            .filter(token=token)
            .first()
        )
        if invitation is None:
            raise not_found()
    except Unavailable as problem:
        return render_unavailable(request, problem)
    contact = invitation.contact
    if request.method == "POST":
        unsubscribe_contact(contact)
        if request.POST.get("List-Unsubscribe") == "One-Click":
            # A mail provider, not a person: a short answer is all it reads.
            return HttpResponse("Unsubscribed.", content_type="text/plain; charset=utf-8")
    survey = invitation.survey
    language = negotiate_language(request, survey, [invitation.language, contact.language])
    done = contact.unsubscribed_at is not None
    return render_page(request, "surveys/public/unsubscribe.html", survey, language, {"done": done})


def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    """The tracking image: notes the first open if the workspace turned tracking on.

    Always the same image, whatever the token: the answer tells nothing about it.
    """
    within_limit = not hit("open-ip", client_ip(request), settings.RATE_LIMIT_IP_PER_MINUTE)
    if request.method == "GET" and within_limit:
        Invitation.objects.filter(token=token, workspace__open_tracking=True).update(
            opened_at=Coalesce(F("opened_at"), Value(timezone.now())),
            status=Case(
                When(status=InvitationStatus.SENT, then=Value(InvitationStatus.OPENED)),
                default=F("status"),
            ),
        )
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store, private"
    response["X-Robots-Tag"] = "noindex"
    return response
