"""Shared setup for the security tests (test_security_*.py): Acme seeded with a canary.

Holds no tests itself. `seed_acme()` gives Alice's workspace one row of every
kind a URL can name, with CANARY in names, comments, notes and properties and
HOSTILE markup next to it, so that the route sweep can prove no outsider ever
reads Acme's data and the XSS tests can prove hostile text renders as text.
Add a row here when you add a model that a URL names (`<int:<model>_id>`): the
sweep refuses to guess ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.db import models
from django.utils import timezone

from kaiku.accounts.models import Membership, TeamInvitation, User, Workspace
from kaiku.api.actions import create_api_key
from kaiku.api.models import ApiKey, Scope
from kaiku.contacts.models import Contact
from kaiku.delighted.models import AutopilotMembership, DelightedSettings
from kaiku.insights.models import DashboardShare, Goal, ReportSubscription, hash_token
from kaiku.insights.queries.filters import ResponseFilter
from kaiku.responses.models import KioskDevice, Response
from kaiku.surveys.models import DeliveryAttempt, Invitation, Survey, Wave
from kaiku.themes.models import ResponseTheme, Theme
from kaiku.transfer.models import AuditLog, ImportRun
from kaiku.webhooks.models import (
    EventRule,
    InboundEvent,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

CANARY = "ACME-CANARY-7f3"
# Runs if any page, email or export renders user text as markup.
HOSTILE = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>'
HOSTILE_TEXT = f"{CANARY} {HOSTILE}"
# For names of at most 80 characters (themes, resolution categories).
HOSTILE_NAME = f'{CANARY} <img src=x onerror="window.__xss=1">'
# Email addresses are stored lower-case: the sweep looks for the canary in any case.
CANARY_EMAIL = f"ann.{CANARY.lower()}@acme.example"
WEBHOOK_URL = f"https://hooks.acme.example/{CANARY}"


@dataclass
class Acme:
    """Acme's seeded rows, and the plaintexts that were shown once."""

    survey: Survey
    contact: Contact
    response: Response
    invitation: Invitation
    api_key: ApiKey
    api_token: str
    endpoint: WebhookEndpoint
    webhook_secret: str
    share_token: str
    theme: Theme
    case: Any  # kaiku.loop.models.Case when the loop app is installed


def seed_acme(workspace: Workspace, alice: User, survey: Survey) -> Acme:
    """Acme's data, every text carrying CANARY (and HOSTILE where text is free-form)."""
    survey.name = f"Relationship NPS {CANARY}"
    survey.save(update_fields=["name"])
    contact = Contact.objects.create(
        workspace=workspace,
        email=CANARY_EMAIL,
        name=f"Ann {HOSTILE_TEXT}",
        external_id=f"crm-{CANARY}",
        properties={"plan": CANARY, "note": HOSTILE},
    )
    wave = Wave.objects.create(workspace=workspace, survey=survey, name=f"Q1 {CANARY}")
    invitation = Invitation.objects.create(
        workspace=workspace,
        survey=survey,
        contact=contact,
        wave=wave,
        properties={"ticket": CANARY},
        sent_at=timezone.now() - timedelta(days=2),
    )
    DeliveryAttempt.objects.create(
        invitation=invitation, kind="invitation", outcome="sent", error=CANARY
    )
    response = Response.objects.create(
        workspace=workspace,
        survey=survey,
        contact=contact,
        score=2,
        scale_min=0,
        scale_max=10,
        channel="email",
        comment=HOSTILE_TEXT,
        properties={"plan": CANARY, "region": HOSTILE},
        tags=[CANARY],
        notes=HOSTILE_TEXT,
        created_at=timezone.now() - timedelta(days=1),
    )
    # More answers, so that the dashboards have figures to show and hide nothing.
    Response.objects.bulk_create(
        Response(
            workspace=workspace,
            survey=survey,
            score=score,
            scale_min=0,
            scale_max=10,
            channel="link",
            comment=f"{CANARY} comment {i}",
            properties={"plan": CANARY},
            created_at=timezone.now() - timedelta(days=1 + i % 20),
        )
        for i, score in enumerate([10, 9, 9, 8, 7, 6, 3, 10, 10, 9, 0, 5] * 2)
    )
    KioskDevice.objects.create(workspace=workspace, survey=survey, name=f"Lobby {CANARY}")
    today = timezone.localdate()
    Goal.objects.create(
        workspace=workspace,
        survey=survey,
        metric="nps",
        target=40,
        segment_property="plan",
        segment_value=CANARY,
        period_start=today - timedelta(days=90),
        period_end=today + timedelta(days=90),
        created_by=alice,
    )
    share_token = DashboardShare.new_token()
    DashboardShare.objects.create(
        workspace=workspace,
        survey=survey,
        token_hash=hash_token(share_token),
        # As the dashboard's share button stores them.
        filters={
            **ResponseFilter(since=today - timedelta(days=90), until=today).to_dict(),
            "period": "month",
            "by": "",
        },
        expires_at=timezone.now() + timedelta(days=30),
        created_by=alice,
    )
    ReportSubscription.objects.create(
        member=Membership.objects.get(workspace=workspace, user=alice), survey=survey
    )
    theme = Theme.objects.create(workspace=workspace, key="canary", name=HOSTILE_NAME)
    ResponseTheme.objects.create(response=response, theme=theme, source="manual")
    TeamInvitation.objects.create(workspace=workspace, email=f"dan.{CANARY.lower()}@acme.example")
    api_key, api_token = create_api_key(workspace, f"CRM {CANARY}", Scope.READ_WRITE, None, alice)
    endpoint, webhook_secret = _webhook(workspace, alice)
    EventRule.objects.create(
        workspace=workspace,
        event_type="ticket.solved",
        survey=survey,
        conditions=[{"property": "plan", "op": "eq", "value": CANARY}],
    )
    InboundEvent.objects.create(
        workspace=workspace,
        type="ticket.solved",
        contact=contact,
        properties={"plan": CANARY},
    )
    ImportRun.objects.create(
        workspace=workspace, survey=survey, source="csv", filename=f"{CANARY}.csv"
    )
    AuditLog.objects.create(
        workspace=workspace,
        actor_type="user",
        user=alice,
        actor_label=f"alice {CANARY}",
        action="contact.exported",
        object_type="contact",
        object_id=str(contact.pk),
        details={"email": CANARY_EMAIL},
    )
    DelightedSettings.objects.update_or_create(
        workspace=workspace, defaults={"target_survey": survey}
    )
    AutopilotMembership.objects.create(
        workspace=workspace, contact=contact, platform="email", properties={"plan": CANARY}
    )
    return Acme(
        survey=survey,
        contact=contact,
        response=response,
        invitation=invitation,
        api_key=api_key,
        api_token=api_token,
        endpoint=endpoint,
        webhook_secret=webhook_secret,
        share_token=share_token,
        theme=theme,
        case=_loop_rows(workspace, alice, survey, response, contact),
    )


def _webhook(workspace: Workspace, alice: User) -> tuple[WebhookEndpoint, str]:
    # Straight to the model: create_endpoint() resolves the host, and nothing
    # here may reach the network. The secret is set the way create_endpoint sets it.
    secret = f"whsec_{CANARY}_0123456789abcdef"
    endpoint = WebhookEndpoint(
        workspace=workspace,
        url=WEBHOOK_URL,
        events=["response.created"],
        description=f"Helpdesk {HOSTILE_TEXT}",
        created_by=alice,
    )
    endpoint.set_secret(secret)
    endpoint.save()
    event = WebhookEvent.objects.create(
        workspace=workspace, type="response.created", payload={"comment": CANARY}
    )
    WebhookDelivery.objects.create(endpoint=endpoint, event=event, last_error=CANARY)
    return endpoint, secret


def _loop_rows(
    workspace: Workspace, alice: User, survey: Survey, response: Response, contact: Contact
) -> Any:
    """A case with a note and a reply, when the loop app is installed."""
    if not apps.is_installed("kaiku.loop"):
        return None
    loop: Any = apps.get_app_config("loop").models_module
    category = loop.ResolutionCategory.objects.create(
        workspace=workspace, key="canary", name=HOSTILE_NAME
    )
    case = loop.Case.objects.create(
        workspace=workspace,
        survey=survey,
        response=response,
        contact=contact,
        reason="detractor",
        reason_detail=CANARY,
        score=response.score,
        category=category,
        due_at=timezone.now() + timedelta(days=1),
    )
    loop.CaseNote.objects.create(case=case, author=alice, body=f"Note {HOSTILE_TEXT}")
    loop.CaseReply.objects.create(
        case=case,
        author=alice,
        to_email=CANARY_EMAIL,
        language="en",
        subject=f"Sorry {HOSTILE_TEXT}",
        body=f"Dear Ann, {HOSTILE_TEXT}",
        status="failed",
        error=CANARY,
    )
    return case


def acme_rows(workspace_id: int) -> dict[str, int]:
    """Row counts of Acme's data per model: an outsider's requests must change none."""
    counts = {}
    for model in apps.get_models():
        if not model.__module__.startswith("kaiku."):
            continue
        field = _workspace_path(model)
        if field is not None:
            counts[model._meta.label] = model._default_manager.filter(
                **{field: workspace_id}
            ).count()
    return counts


def _workspace_path(model: type[models.Model]) -> str | None:
    names = {f.name for f in model._meta.get_fields()}
    for path in ("workspace", "survey__workspace", "case__workspace", "endpoint__workspace"):
        if path.split("__")[0] in names:
            return path
    return None
