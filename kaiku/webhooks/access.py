"""Access helpers: endpoints, deliveries and rules, only within the manager's workspace.

Every lookup is scoped to the membership's workspace; another workspace's id
is a 404, exactly like an id that does not exist. Agents and viewers of the
workspace get 403 from get_manager_membership before any lookup.
"""

from __future__ import annotations

from django.http import Http404

from kaiku.accounts.models import Membership, Workspace
from kaiku.webhooks.models import EventRule, WebhookDelivery, WebhookEndpoint


def get_endpoint(workspace: Workspace, endpoint_id: int) -> WebhookEndpoint | None:
    return WebhookEndpoint.objects.filter(workspace=workspace, pk=endpoint_id).first()


def get_endpoint_for_manager(membership: Membership, endpoint_id: int) -> WebhookEndpoint:
    endpoint = get_endpoint(membership.workspace, endpoint_id)
    if endpoint is None:
        raise Http404
    return endpoint


def get_delivery_for_manager(
    membership: Membership, endpoint: WebhookEndpoint, delivery_id: int
) -> WebhookDelivery:
    if endpoint.workspace_id != membership.workspace_id:
        raise Http404
    delivery = WebhookDelivery.objects.filter(endpoint=endpoint, pk=delivery_id).first()
    if delivery is None:
        raise Http404
    return delivery


def get_rule_for_manager(membership: Membership, rule_id: int) -> EventRule:
    rule = (
        EventRule.objects.select_related("survey")
        .filter(workspace_id=membership.workspace_id, pk=rule_id)
        .first()
    )
    if rule is None:
        raise Http404
    return rule
