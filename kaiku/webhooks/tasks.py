"""Background jobs of webhooks: one delivery attempt; the email when an endpoint is disabled.

Jobs take ids, re-read the rows and are safe to run twice: a second
deliver_webhook for the same attempt finds nothing to claim.
"""

from __future__ import annotations

from django.urls import reverse
from django_tasks import task

from kaiku.accounts.models import MANAGER_ROLES, Membership
from kaiku.lib.mail import send_email
from kaiku.webhooks import delivery
from kaiku.webhooks.models import WebhookEndpoint

EMAIL_DIR = "webhooks/email"


@task()
def deliver_webhook(delivery_id: int) -> str | None:
    """Make the due attempt of one delivery (see kaiku.webhooks.delivery)."""
    return delivery.attempt(delivery_id)


@task()
def send_endpoint_disabled_email(endpoint_id: int) -> int:
    """Tell the workspace's owners and admins, each in their language; the count sent."""
    endpoint = (
        WebhookEndpoint.objects.select_related("workspace")
        .filter(pk=endpoint_id, is_active=False)
        .first()
    )
    if endpoint is None:  # deleted or re-enabled since
        return 0
    workspace = endpoint.workspace
    managers = Membership.objects.select_related("user").filter(
        workspace=workspace, role__in=MANAGER_ROLES, user__is_active=True
    )
    path = reverse(
        "webhooks:detail",
        kwargs={"workspace_slug": workspace.slug, "webhookendpoint_id": endpoint.pk},
    )
    sent = 0
    for membership in managers:
        context = {"endpoint": endpoint, "workspace": workspace, "path": path}
        sent += send_email(
            membership.user.email,
            f"{EMAIL_DIR}/endpoint_disabled_subject.txt",
            f"{EMAIL_DIR}/endpoint_disabled.txt",
            f"{EMAIL_DIR}/endpoint_disabled.html",
            context,
            membership.user.language,
        )
    return sent
