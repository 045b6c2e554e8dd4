"""The promoter follow-up: a review request or a referral link, in the contact's language."""

from __future__ import annotations

from django.utils import timezone

from kaiku.loop.delivery import About, Email, send_alert_email
from kaiku.loop.models import AlertKind, AlertStatus, LoopSettings, PromoterFollowUp
from kaiku.loop.starter import ANONYMOUS_NAME, fill, promoter_template
from kaiku.responses.pages import workspace_languages
from kaiku.surveys.emails import sender


def send_promoter_email(follow_up_id: int) -> str | None:
    """Send one follow-up (claimed by sent_at: never twice); its status, None if not sent."""
    claimed = PromoterFollowUp.objects.filter(pk=follow_up_id, sent_at__isnull=True).update(
        sent_at=timezone.now()
    )
    follow_up = (
        PromoterFollowUp.objects.select_related("response__survey__workspace", "response__contact")
        .filter(pk=follow_up_id)
        .first()
    )
    if not claimed or follow_up is None:
        return None
    response = follow_up.response
    survey, contact = response.survey, response.contact
    link = LoopSettings.objects.filter(survey=survey).values_list("promoter_url", flat=True).first()
    if contact is None or not contact.can_be_emailed or not link:
        return None
    offered = workspace_languages(survey.workspace)
    language = next(
        (c for c in (contact.language, response.language, survey.default_language) if c in offered),
        offered[0],
    )
    template = promoter_template(follow_up.action, language)
    values = {
        "name": contact.name or ANONYMOUS_NAME.get(language, ""),
        "brand": survey.display_brand,
        "score": str(response.score),
        "link": link,
    }
    context = {
        "subject": fill(template.subject, values),
        "body": fill(template.body, values),
        "link": link,
        "brand": survey.display_brand,
        "action": follow_up.action,
    }
    about = About(survey.workspace_id, AlertKind.PROMOTER, survey_id=survey.pk)
    email = Email(
        contact.email or "",
        "promoter",
        context,
        language,
        from_email=sender(survey),
        to_customer=True,
    )
    attempt = send_alert_email(about, email)
    return "sent" if attempt.status == AlertStatus.SENT else "failed"
