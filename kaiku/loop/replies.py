"""Emails to the customer from a case: compose (placeholders, language) and deliver.

The From address is the workspace's sending address under its brand name, as
for survey invitations; Reply-To is the agent's own address, so the customer's
answer lands with the person who wrote.
"""

from __future__ import annotations

from email.utils import formataddr, parseaddr

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kaiku.accounts.models import User
from kaiku.loop.delivery import About, Email, send_alert_email
from kaiku.loop.errors import CaseError
from kaiku.loop.models import (
    MAX_NOTE_LENGTH,
    AlertKind,
    AlertStatus,
    Case,
    CaseReply,
    ReplyStatus,
)
from kaiku.loop.starter import ANONYMOUS_NAME, fill, reply_template
from kaiku.responses.pages import workspace_languages


def reply_language(case: Case) -> str:
    """The contact's language if the workspace offers it, else the answer's, else the survey's."""
    offered = workspace_languages(case.workspace)
    contact_language = case.contact.language if case.contact else ""
    for candidate in (contact_language, case.response.language, case.survey.default_language):
        if candidate in offered:
            return candidate
    return offered[0]


def placeholder_values(case: Case, agent: User | None, language: str) -> dict[str, str]:
    contact = case.contact
    return {
        "name": (contact.name if contact else "") or ANONYMOUS_NAME.get(language, ""),
        "brand": case.survey.display_brand,
        "agent": agent.get_full_name() if agent else "",
        "score": str(case.score),
        "survey": case.survey.name,
    }


def prefill(case: Case, template_key: str, agent: User | None) -> tuple[str, str]:
    """A template's subject and body in the customer's language, placeholders filled."""
    language = reply_language(case)
    template = reply_template(template_key, language)
    if template is None:
        return "", ""
    values = placeholder_values(case, agent, language)
    return fill(template.subject, values), fill(template.body, values)


def compose_reply(case: Case, subject: str, body: str, agent: User) -> CaseReply:
    """An unsaved reply, or CaseError when the customer cannot be emailed."""
    contact = case.contact
    if contact is None or not contact.email:
        raise CaseError(_("This answer has no contact with an email address."))
    if contact.bounced_at is not None:
        raise CaseError(_("Emails to this contact bounce; reach them another way."))
    subject, body = subject.strip(), body.replace("\r\n", "\n").strip()
    if not subject or not body:
        raise CaseError(_("Write a subject and a message."), field="body")
    language = reply_language(case)
    values = placeholder_values(case, agent, language)
    return CaseReply(
        case=case,
        author=agent,
        to_email=contact.email,
        language=language,
        subject=" ".join(fill(subject, values).split())[:200],
        body=fill(body, values)[:MAX_NOTE_LENGTH],
    )


def sender(case: Case) -> str:
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((case.survey.display_brand, address))


def deliver_reply(reply_id: int) -> str | None:
    """Send one queued reply (claimed, so a second run sends nothing); its new status."""
    claimed = CaseReply.objects.filter(pk=reply_id, status=ReplyStatus.QUEUED).update(
        status=ReplyStatus.SENDING, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    reply = CaseReply.objects.select_related(
        "case__survey__workspace", "case__workspace", "author"
    ).get(pk=reply_id)
    case = reply.case
    headers = {}
    if reply.author is not None:
        headers["Reply-To"] = formataddr((reply.author.get_full_name(), reply.author.email))
    attempt = send_alert_email(
        About(case.workspace_id, AlertKind.REPLY, case_id=case.pk, survey_id=case.survey_id),
        Email(
            to=reply.to_email,
            template="reply",
            context={"reply": reply, "brand": case.survey.display_brand},
            language=reply.language,
            headers=headers,
            from_email=sender(case),
            to_customer=True,
        ),
    )
    sent = attempt.status == AlertStatus.SENT
    now = timezone.now()
    CaseReply.objects.filter(pk=reply_id).update(
        status=ReplyStatus.SENT if sent else ReplyStatus.FAILED,
        error=attempt.error,
        sent_at=now if sent else None,
    )
    if sent:
        Case.objects.filter(pk=case.pk, contacted_at__isnull=True).update(contacted_at=now)
    return ReplyStatus.SENT if sent else ReplyStatus.FAILED


def retry_reply(reply: CaseReply) -> bool:
    """Queue a failed reply again; False if it is not failed."""
    return bool(
        CaseReply.objects.filter(pk=reply.pk, status=ReplyStatus.FAILED).update(
            status=ReplyStatus.QUEUED, error=""
        )
    )
