"""Survey invitation and reminder emails: subject, plain text and HTML, per language.

Rendering is the hot path of a big send (the target is hundreds of emails a
second per worker), so everything that depends only on the survey and the
language (texts, score buttons, colours, translated labels) is computed once
per batch by `EmailRenderer` and only the links and the greeting change per
invitation. Templates are fetched once and kept (Django's cached loader
would do it too, but not in every configuration).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.template import engines
from django.template.backends.django import Template
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _

from kaiku.contacts.models import Contact
from kaiku.responses.pages import SCALE_ENDS, palette, score_group, workspace_languages
from kaiku.surveys.models import Invitation, Survey

TEMPLATE_DIR = "surveys/email"
PREVIEW_TOKEN = "preview"  # noqa: S105 - a placeholder in preview links, not a secret
PREVIEW_NAME = "Alex"
SAFE_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")

# Button colours by score group. Solid fills with explicit text colours keep the
# buttons readable in every client, including dark modes that invert only
# unstyled areas; each pair clears WCAG AA (4.5:1).
BUTTON_COLOURS = {
    "low": ("#c62828", "#ffffff"),
    "middle": ("#e3e6ea", "#1b1f24"),
    "high": ("#1b7f3b", "#ffffff"),
}


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    headers: dict[str, str]
    from_email: str = field(default="")


def invitation_language(invitation: Invitation) -> str:
    """The invitation's language if offered, else the contact's, else the survey's."""
    survey = invitation.survey
    offered = workspace_languages(survey.workspace)
    for candidate in (invitation.language, invitation.contact.language, survey.default_language):
        if candidate in offered:
            return candidate
    return offered[0]


def site_link(name: str, token: str) -> str:
    return settings.SITE_URL + reverse(name, args=[token])


def unsubscribe_mailbox() -> tuple[str, str]:
    """(local part, domain) of KAIKU_EMAIL_UNSUBSCRIBE, else `unsubscribe` at the From domain."""
    if settings.EMAIL_UNSUBSCRIBE_ADDRESS:
        local, _at, domain = settings.EMAIL_UNSUBSCRIBE_ADDRESS.rpartition("@")
    else:
        local, domain = "unsubscribe", parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2]
    return local, domain or "localhost"


def unsubscribe_mailto(token: str) -> str:
    """`<mailbox>+<token>@<domain>`: the List-Unsubscribe mailto address."""
    local, domain = unsubscribe_mailbox()
    return f"{local}+{token}@{domain}"


def list_unsubscribe_headers(token: str) -> dict[str, str]:
    """RFC 2369 + RFC 8058 headers: mail providers show an Unsubscribe button that
    POSTs `List-Unsubscribe=One-Click` to the https address without a user visit.

    Mail clients that unsubscribe by email use the mailto; the mail server delivers
    that mailbox to `kaiku unsubscribe-mail` (docs/sending.md, "Unsubscribing").
    """
    mailto = f"mailto:{unsubscribe_mailto(token)}?subject=unsubscribe"
    https = site_link("survey_public:unsubscribe", token)
    return {
        "List-Unsubscribe": f"<{mailto}>, <{https}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def sender(survey: Survey) -> str:
    """The configured From address, under the brand's name ("Acme <surveys@…>")."""
    _name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((survey.display_brand, address))


# Stand-ins for the per-invitation parts (token, name). A survey's email is
# rendered once per language with these in place, then each invitation's copy is
# a few str.replace calls: ~100x cheaper than rendering the templates again.
# Random per process and alphanumeric, so escaping and URLs leave them intact
# and no survey text can contain them.
_MARK = secrets.token_hex(6)
TOKEN_MARK = f"tok{_MARK}"
NAME_MARK = f"name{_MARK}"


@dataclass(frozen=True)
class _Skeleton:
    subject: str
    text: str
    html: str
    from_email: str


class EmailRenderer:
    """Renders many invitations; each (survey, language, kind) is rendered once."""

    def __init__(self) -> None:
        django_engine = engines["django"]
        self._templates: dict[str, Template] = {
            part: django_engine.get_template(f"{TEMPLATE_DIR}/invitation.{part}")  # type: ignore[misc]
            for part in ("txt", "html")
        }
        self._skeletons: dict[tuple[int, str, bool, bool, bool], _Skeleton] = {}

    def render(self, invitation: Invitation, *, reminder: bool = False) -> RenderedEmail:
        language = invitation_language(invitation)
        return self._render(
            invitation.survey, language, invitation.token, invitation.contact, reminder
        )

    def _render(
        self, survey: Survey, language: str, token: str, contact: Contact, reminder: bool
    ) -> RenderedEmail:
        if not SAFE_TOKEN.match(token):
            raise ValueError("An invitation token must be URL-safe.")
        tracking = survey.workspace.open_tracking and token != PREVIEW_TOKEN
        skeleton = self._skeleton(survey, language, reminder, bool(contact.name), tracking)
        name = contact.name
        text = skeleton.text.replace(TOKEN_MARK, token).replace(NAME_MARK, name)
        html = skeleton.html.replace(TOKEN_MARK, token).replace(NAME_MARK, escape(name))
        headers = {
            "Content-Language": language,
            # Tells auto-responders ("out of office") not to answer (RFC 3834).
            "Auto-Submitted": "auto-generated",
            **list_unsubscribe_headers(token),
        }
        return RenderedEmail(skeleton.subject, text, html, headers, skeleton.from_email)

    def _skeleton(
        self, survey: Survey, language: str, reminder: bool, named: bool, tracking: bool
    ) -> _Skeleton:
        key = (survey.pk or 0, language, reminder, named, tracking)
        if key not in self._skeletons:
            with translation.override(language):
                layout = survey_layout(survey, language, reminder)
                context = {**layout, **_personal(layout["scale"], named, tracking)}
                text = self._templates["txt"].render(context)
                html = self._templates["html"].render(context)
            self._skeletons[key] = _Skeleton(layout["subject"], text, html, sender(survey))
        return self._skeletons[key]


def _personal(scale: list[dict[str, Any]], named: bool, tracking: bool) -> dict[str, Any]:
    answer_url = site_link("respond:invitation", TOKEN_MARK)
    return {
        "name": NAME_MARK if named else "",
        "buttons": [{**b, "url": f"{answer_url}?score={b['value']}"} for b in scale],
        "answer_url": answer_url,
        "unsubscribe_url": site_link("survey_public:unsubscribe", TOKEN_MARK),
        "pixel_url": site_link("survey_public:open_pixel", TOKEN_MARK) if tracking else "",
    }


def survey_layout(survey: Survey, language: str, reminder: bool) -> dict[str, Any]:
    """Everything in the email that depends only on the survey and language.

    Call inside translation.override(language): lazy labels are forced here.
    """
    brand = survey.display_brand
    low, high = SCALE_ENDS.get(survey.kind, ("", ""))
    scale = []
    for value in survey.scale:
        background, colour = BUTTON_COLOURS[score_group(survey, value)]
        end = (
            str(low)
            if value == survey.scale_min
            else str(high)
            if value == survey.scale_max
            else ""
        )
        label = f"{value} – {end}" if end else str(value)
        scale.append({"value": value, "label": label, "bg": background, "fg": colour})
    if reminder:
        subject = _("Reminder: %(brand)s would like your opinion") % {"brand": brand}
    else:
        subject = _("%(brand)s would like your opinion") % {"brand": brand}
    colours = palette(survey.workspace.brand_color)
    return {
        "subject": " ".join(str(subject).split()),
        "brand": brand,
        "brand_fill": colours.brand,
        "brand_text": colours.on_brand,
        "logo_url": survey.workspace.logo_url,
        "question": survey.texts(language).question,
        "scale": scale,
        "low_label": str(low),
        "high_label": str(high),
        "reminder": reminder,
        "language": language,
        # Cells share the row (phones get narrower buttons, never a scroll bar);
        # a 5- or 7-point scale is capped so its buttons stay button-sized.
        "cell_percent": f"{100 / max(1, len(scale)):.2f}",
        "buttons_max_width": 56 * len(scale),
    }


def render_invitation(invitation: Invitation, *, reminder: bool = False) -> RenderedEmail:
    """One invitation's (or its reminder's) email, in the invitation's language."""
    return EmailRenderer().render(invitation, reminder=reminder)


def render_preview(survey: Survey, language: str, *, reminder: bool = False) -> RenderedEmail:
    """The email as a contact named Alex would get it; links carry a placeholder token."""
    contact = Contact(workspace=survey.workspace, name=PREVIEW_NAME, language=language)
    return EmailRenderer()._render(survey, language, PREVIEW_TOKEN, contact, reminder)


def mailto_token(address: str) -> str | None:
    """The token in a `<mailbox>+<token>@…` address of our unsubscribe mailbox, else None."""
    local = parseaddr(address)[1].rpartition("@")[0]
    base, plus, token = local.partition("+")
    ours = base.lower() == unsubscribe_mailbox()[0].lower()
    return token if ours and plus and token else None
