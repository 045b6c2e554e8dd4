"""Sending one alert, by email or to a Slack-compatible webhook, and recording the attempt.

Every call makes one attempt and writes one AlertDelivery row, sent or failed,
with the time it took: the alerts page shows them. Nothing here raises for a
delivery problem; call it from a job, never inside a transaction (SMTP and
HTTP can take seconds).
"""

from __future__ import annotations

import json
import smtplib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from kaiku.lib.mail import send_email
from kaiku.loop.models import AlertChannel, AlertDelivery, AlertStatus
from kaiku.webhooks import transport

EMAIL_DIR = "loop/email"


@dataclass(frozen=True)
class About:
    """What an attempt is recorded against."""

    workspace_id: int
    kind: str
    case_id: int | None = None
    survey_id: int | None = None
    recipient_id: int | None = None


@dataclass(frozen=True)
class Email:
    to: str
    template: str  # loop/email/<template>{_subject.txt,.txt,.html}
    context: Mapping[str, Any]
    language: str
    headers: dict[str, str] = field(default_factory=dict)
    from_email: str | None = None
    # Customers' addresses are masked in the log: it outlives a GDPR erase of the contact.
    to_customer: bool = False


def send_alert_email(about: About, email: Email) -> AlertDelivery:
    started = time.monotonic()
    error = ""
    try:
        send_email(
            email.to,
            f"{EMAIL_DIR}/{email.template}_subject.txt",
            f"{EMAIL_DIR}/{email.template}.txt",
            f"{EMAIL_DIR}/{email.template}.html",
            email.context,
            email.language,
            headers={"Auto-Submitted": "auto-generated", **email.headers},
            from_email=email.from_email,
        )
    except (smtplib.SMTPException, OSError) as exc:
        error = (str(exc) or type(exc).__name__)[:300]
    target = mask_email(email.to) if email.to_customer else email.to
    return _record(about, AlertChannel.EMAIL, target, error, None, started)


def mask_email(address: str) -> str:
    """ "ann@example.com" → "a…@example.com": enough to tell attempts apart, not a person."""
    local, _at, domain = address.rpartition("@")
    return f"{local[:1]}…@{domain}" if local else "…"


def post_to_webhook(about: About, url: str, text: str, link: str = "") -> AlertDelivery:
    """POST `{"text": …, "blocks": […]}` as Slack's incoming webhooks expect.

    Through kaiku.webhooks.transport: http(s) only, the resolved addresses
    checked (private ones refused unless KAIKU_WEBHOOKS_ALLOW_PRIVATE), no
    redirects, one deadline of KAIKU_WEBHOOK_TIMEOUT_SECONDS for the request.
    """
    started = time.monotonic()
    body = json.dumps(slack_payload(text, link)).encode()
    result = transport.post(url, body, {}, float(settings.WEBHOOK_TIMEOUT_SECONDS))
    error = result.error
    if not error and not (result.status_code and 200 <= result.status_code < 300):
        error = f"The webhook answered HTTP {result.status_code}."
    return _record(about, AlertChannel.SLACK, redact(url), error, result.status_code, started)


def slack_payload(text: str, link: str = "") -> dict[str, Any]:
    escaped = slack_escape(text)
    if link:
        escaped += f"\n<{link}|{slack_escape(link)}>"
    return {
        "text": escaped,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": escaped}}],
    }


def slack_escape(text: str) -> str:
    """Slack's three control characters: a comment cannot @channel or forge a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def redact(url: str) -> str:
    """Host and the start of the path: incoming-webhook URLs are credentials."""
    parts = urlsplit(url)
    path = parts.path if len(parts.path) <= 12 else parts.path[:12] + "…"
    return f"{parts.hostname or '?'}{f':{parts.port}' if parts.port else ''}{path}"[:254]


def _record(
    about: About, channel: str, target: str, error: str, code: int | None, started: float
) -> AlertDelivery:
    return AlertDelivery.objects.create(
        workspace_id=about.workspace_id,
        case_id=about.case_id,
        survey_id=about.survey_id,
        recipient_id=about.recipient_id,
        kind=about.kind,
        channel=channel,
        target=target[:254],
        status=AlertStatus.FAILED if error else AlertStatus.SENT,
        status_code=code,
        error=error[:300],
        duration_ms=int((time.monotonic() - started) * 1000),
    )
