"""The one way Kaiku sends email.

Every message has three templates (subject, plain text, HTML) rendered in the
recipient's language, and goes out as multipart/alternative through Django's
email framework, so the SMTP settings (or the console backend on a laptop)
apply everywhere. Call it from a background job or an on-commit callback,
never inside a transaction: SMTP can take seconds and fail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation


def render_email(
    subject_template: str,
    text_template: str,
    html_template: str,
    context: Mapping[str, Any],
    language: str,
) -> tuple[str, str, str]:
    """(subject, text, html) rendered in `language`; `site_url` is always in the context."""
    full_context = {"site_url": settings.SITE_URL, **context}
    with translation.override(language):
        subject = render_to_string(subject_template, full_context)
        text = render_to_string(text_template, full_context)
        html = render_to_string(html_template, full_context)
    # A newline in a subject is a header injection; templates end with one.
    return " ".join(subject.split()), text, html


def send_email(
    to: str | Sequence[str],
    subject_template: str,
    text_template: str,
    html_template: str,
    context: Mapping[str, Any],
    language: str,
    *,
    headers: Mapping[str, str] | None = None,
    from_email: str | None = None,
) -> int:
    """Render the three templates in `language` and send a text + HTML email.

    `headers` carries extras such as List-Unsubscribe for bulk mail. Returns the
    number of messages sent (1), as Django's `send()` does; SMTP errors propagate
    so that the calling job can record and retry them.
    """
    subject, text, html = render_email(
        subject_template, text_template, html_template, context, language
    )
    recipients = [to] if isinstance(to, str) else list(to)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        headers={"Content-Language": language, **(headers or {})},
    )
    message.attach_alternative(html, "text/html")
    return message.send()
